"""Which OpenMMLab task a config belongs to, decided in one place."""
import importlib
from typing import Dict

from mmengine.config import Config

#: ``default_scope`` of a config -> task name used by the tools.
TASKS: Dict[str, str] = {
    'mmpretrain': 'classification',
    'mmseg': 'segmentation',
}

#: task name -> pip requirement that provides its OpenMMLab package.
_REQUIREMENTS: Dict[str, str] = {
    'mmpretrain': 'mmpretrain>=1.0.0,<1.3.0',
    'mmseg': 'mmsegmentation>=1.0.0,<1.3.0 (pip install -e ".[seg]")',
}


def get_task(cfg: Config) -> str:
    """Return the task of ``cfg``, read from its ``default_scope``.

    Args:
        cfg (Config): A loaded config.

    Returns:
        str: ``'classification'`` for ``default_scope='mmpretrain'`` and
        ``'segmentation'`` for ``default_scope='mmseg'``.

    Raises:
        ValueError: If ``default_scope`` is missing or not supported.
    """
    scope = cfg.get('default_scope', None)
    if scope is None:
        raise ValueError(
            'The config has no `default_scope`, so the task cannot be told. '
            "Add `default_scope = 'mmpretrain'` (classification) or "
            "`default_scope = 'mmseg'` (segmentation) to it, or inherit "
            "the task's default_runtime.py base config.")
    if scope not in TASKS:
        raise ValueError(
            f'Unsupported default_scope {scope!r} in the config; '
            f'frskd_mm supports {sorted(TASKS)} '
            f'({", ".join(f"{k}: {v}" for k, v in TASKS.items())}).')
    return TASKS[scope]


def setup_task(cfg: Config) -> str:
    """Register the OpenMMLab modules of the config's task.

    Imports the task's package (MMPretrain or MMSegmentation) and registers
    all its modules in its registries, without changing the default scope
    (the Runner sets it from ``cfg.default_scope``). frskd_mm's own modules
    are loaded by the config's ``custom_imports``.

    Args:
        cfg (Config): A loaded config.

    Returns:
        str: The task name, see :func:`get_task`.

    Raises:
        ValueError: If the config's ``default_scope`` is missing or not
            supported.
        ImportError: If the task's package is not installed.
    """
    task = get_task(cfg)
    scope = cfg.default_scope
    try:
        utils = importlib.import_module(f'{scope}.utils')
    except ImportError as e:
        raise ImportError(
            f'The config has default_scope={scope!r} ({task}), but '
            f'`{scope}` cannot be imported ({e}). Install '
            f'{_REQUIREMENTS[scope]}.') from e
    utils.register_all_modules(init_default_scope=False)
    return task
