"""Registration of frskd_mm's modules in MMSegmentation's registries.

``import frskd_mm`` registers everything in MMPretrain's registries (the
modules decorate themselves). MMSegmentation is optional: when it can be
imported, :func:`register_mmseg_modules` (called by ``frskd_mm/__init__``)
adds the shared building blocks to MMSeg's ``MODELS`` and ``HOOKS`` and
imports the modules that register themselves in MMSeg's registries
(:class:`~frskd_mm.models.heads.FRSKDSegHead`, the segmentation datasets).
Configs with ``default_scope='mmseg'`` then find ``FRSKDNeck``,
``FRSKDSegHead``, ``AttentionTransferLoss``, ``FitNetLoss`` and
``FRSKDHook`` by their plain names.
"""
import importlib
import warnings
from typing import Optional

#: Why MMSegmentation cannot be used (None while unknown or when it can).
_mmseg_error: Optional[str] = None
_mmseg_checked = False


def mmseg_available() -> bool:
    """Whether MMSegmentation can be imported here.

    A missing ``mmseg`` is silent (classification needs no MMSeg). An MMSeg
    that is installed but fails to import (e.g. an incompatible mmcv) is
    reported once with a warning, so ``import frskd_mm`` keeps working for
    classification while segmentation users learn why ``FRSKDSegHead`` is
    not registered.

    Returns:
        bool: True if ``mmseg.registry`` imports.
    """
    global _mmseg_checked, _mmseg_error
    if not _mmseg_checked:
        _mmseg_checked = True
        try:
            _import_mmseg_registry()
        except ModuleNotFoundError as e:
            _mmseg_error = f'mmseg is not installed ({e})'
            if not (e.name or '').startswith('mmseg'):
                _warn_broken_mmseg(e)
        except Exception as e:  # noqa: BLE001 - any import-time failure
            _mmseg_error = f'mmseg failed to import ({type(e).__name__}: {e})'
            _warn_broken_mmseg(e)
    return _mmseg_error is None


def _import_mmseg_registry() -> None:
    importlib.import_module('mmseg.registry')


def _warn_broken_mmseg(e: BaseException) -> None:
    warnings.warn(
        'MMSegmentation is installed but cannot be imported '
        f'({type(e).__name__}: {e}); frskd_mm registers its segmentation '
        'modules (FRSKDSegHead, and FRSKDNeck/FRSKDHook in mmseg\'s '
        'registries) only when it can. Install a compatible '
        'mmsegmentation/mmcv (pip install -e ".[seg]") to use them.',
        stacklevel=3)


def register_mmseg_modules() -> None:
    """Register frskd_mm's modules in MMSegmentation's registries.

    Registers :class:`~frskd_mm.models.necks.FRSKDNeck`,
    :class:`~frskd_mm.models.losses.AttentionTransferLoss` and
    :class:`~frskd_mm.models.losses.FitNetLoss` in ``mmseg.registry.MODELS``,
    :class:`~frskd_mm.engine.hooks.FRSKDHook` in ``mmseg.registry.HOOKS``,
    and imports :class:`~frskd_mm.models.heads.FRSKDSegHead` (registered in
    ``mmseg.registry.MODELS`` by its decorator) and the segmentation
    datasets of :mod:`frskd_mm.datasets` (registered in
    ``mmseg.registry.DATASETS`` by theirs). Calling it again does nothing.

    Raises:
        ImportError: If MMSegmentation cannot be imported.
        KeyError: If MMSeg already has a different module under one of
            these names.
    """
    if not mmseg_available():
        raise ImportError(
            f'Cannot register frskd_mm in MMSegmentation: {_mmseg_error}. '
            'Install it with pip install -e ".[seg]" '
            '(mmsegmentation>=1.0.0,<1.3.0).')
    from mmseg.registry import HOOKS as SEG_HOOKS
    from mmseg.registry import MODELS as SEG_MODELS

    from .datasets import checked_voc, digit_canvas  # noqa: F401 (registers)
    from .engine.hooks import FRSKDHook
    from .models.heads import frskd_seg_head  # noqa: F401 (registers)
    from .models.losses import AttentionTransferLoss, FitNetLoss
    from .models.necks import FRSKDNeck

    for registry, modules in ((SEG_MODELS, (FRSKDNeck, AttentionTransferLoss,
                                            FitNetLoss)),
                              (SEG_HOOKS, (FRSKDHook, ))):
        for module in modules:
            _register_once(registry, module)


def _register_once(registry, module: type) -> None:
    """Register ``module`` under its class name unless it already is."""
    name = module.__name__
    existing = registry.module_dict.get(name)
    if existing is module:
        return
    if existing is not None:
        raise KeyError(
            f'{registry.name} (scope {registry.scope!r}) already has a '
            f'different {name} from {existing.__module__}; frskd_mm cannot '
            f'register its own {name} there. Rename or remove the other '
            'registration.')
    registry.register_module(module=module)
