"""Loading state dicts saved before the conv blocks came from mmcv.

Up to version 1 frskd_mm built its conv blocks by hand, as
``nn.Sequential(conv, norm, act)``, so their tensors were named by position
(``lateral_convs.0.0.weight``, ``lateral_convs.0.1.running_mean``). From
version 2 they are mmcv ``ConvModule`` s, named ``conv.*`` and
``<norm name>.*`` (``bn``, ``gn``, ... after the norm type), e.g.
``lateral_convs.0.conv.weight`` and ``lateral_convs.0.bn.running_mean``.

PyTorch stores every module's ``_version`` in the metadata of its state dict
and hands it back to ``_load_from_state_dict``. A module whose keys changed
mixes in :class:`LegacyKeysMixin`: loading a state dict of an older version
renames the old keys to the new ones first, so that resuming, ``load_from``,
exporting and visualising old checkpoints work unchanged, strictly.
"""
from typing import Dict, Optional

#: The version of the modules whose tensors are named after mmcv's parts.
LEGACY_KEYS_VERSION = 2


def conv_module_key_map(
        conv,
        new_prefix: str,
        old_conv_prefix: str,
        old_norm_prefix: Optional[str] = None) -> Dict[str, str]:
    """Old key -> new key for one ``ConvModule`` that replaced a hand-made
    conv (+ norm).

    Args:
        conv (ConvModule): The module, as built now.
        new_prefix (str): Its name relative to the loading module, with a
            trailing dot, e.g. ``'lateral_convs.0.'``.
        old_conv_prefix (str): Where its conv was, e.g.
            ``'lateral_convs.0.0.'``.
        old_norm_prefix (str, optional): Where its norm was, e.g.
            ``'lateral_convs.0.1.'``; unused without a norm.

    Returns:
        dict[str, str]: One entry per tensor of the conv and the norm.
    """
    mapping = {
        old_conv_prefix + name: f'{new_prefix}conv.{name}'
        for name in conv.conv.state_dict(keep_vars=True)
    }
    if conv.with_norm:
        mapping.update({
            old_norm_prefix + name:
            f'{new_prefix}{conv.norm_name}.{name}'
            for name in conv.norm.state_dict(keep_vars=True)
        })
    return mapping


class LegacyKeysMixin:
    """Load state dicts of version 1 by renaming their keys.

    Mix in before ``nn.Module`` and implement :meth:`_legacy_key_map`. A
    state dict whose metadata gives this module a version below
    :data:`LEGACY_KEYS_VERSION`, or none (metadata is lost when a state
    dict's keys are rewritten, e.g. DDP's ``module.`` prefix stripped), has
    its old keys renamed before the usual loading; new keys are left alone.
    """

    _version = LEGACY_KEYS_VERSION

    def _legacy_key_map(self) -> Dict[str, str]:
        """Old key -> new key, relative to this module."""
        raise NotImplementedError

    def _load_from_state_dict(self, state_dict: dict, prefix: str,
                              local_metadata: dict, *args, **kwargs) -> None:
        version = local_metadata.get('version')
        if version is None or version < LEGACY_KEYS_VERSION:
            for old, new in self._legacy_key_map().items():
                old, new = prefix + old, prefix + new
                if old in state_dict and new not in state_dict:
                    state_dict[new] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      *args, **kwargs)
