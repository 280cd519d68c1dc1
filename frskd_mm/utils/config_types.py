"""The registered name of a config's ``type``."""
from typing import Any


def config_type_name(cfg: Any) -> str:
    """The class name a config dict's ``type`` names, its scope prefix
    removed (``'mmpretrain.EfficientNet'`` -> ``'EfficientNet'``); a class
    given as ``type`` gives its ``__name__``; '' without a type.

    Args:
        cfg: A config dict (anything else has no type).

    Returns:
        str: The name, or ''.
    """
    t = cfg.get('type', None) if isinstance(cfg, dict) else None
    if isinstance(t, str):
        return t.rsplit('.', 1)[-1]
    return getattr(t, '__name__', '')
