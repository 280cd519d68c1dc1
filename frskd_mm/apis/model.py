"""Build a model from a config, and load a checkpoint into it: the one way
the export, the figures and the benchmark get their models."""
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from ..tasks import TaskAdapter, get_task
from ..utils.checkpoint import load_checkpoint_file


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """Load a config (its ``custom_imports`` import frskd_mm), apply
    ``cfg_options`` and register the modules of its task.

    Args:
        config (str | Config): A config file or a loaded config (copied).
        cfg_options (dict, optional): Overrides, as ``--cfg-options``.

    Returns:
        Config: The config.
    """
    cfg = Config.fromfile(config) if not isinstance(config, Config) else \
        Config(config._cfg_dict.to_dict(), filename=config.filename)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    get_task(cfg).setup()
    return cfg


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None,
               seed: Optional[int] = None) -> nn.Module:
    """Build the model of a config of any task of :mod:`frskd_mm.tasks`.

    The task package's own API builds it (``mmpretrain.apis.get_model``,
    ``mmseg.apis.init_model``, MMDetection's registry as
    ``init_detector``; see :mod:`frskd_mm.tasks`); without a
    checkpoint the weights are initialised (``init_weights``, seeded with
    ``seed``), with one they are loaded strictly by MMEngine's
    ``load_checkpoint`` (weights-only, see
    :func:`frskd_mm.utils.use_safe_checkpoint_loading`; ``module.``
    prefixes of DDP checkpoints are stripped). SyncBN becomes BN off CUDA.

    Args:
        config (str | Config): The config.
        checkpoint (str, optional): A checkpoint of this config's model.
        device (str | torch.device): Where the model goes.
        cfg_options (dict, optional): Overrides of the config.
        seed (int, optional): Seed of the initial weights.

    Returns:
        nn.Module: The model in eval mode, with ``cfg`` (the config) and,
        from the checkpoint, ``dataset_meta`` set.

    Raises:
        RuntimeError: If the checkpoint does not match the model (missing
            or unexpected keys, or shapes).
    """
    cfg = load_config(config, cfg_options)
    task = get_task(cfg)
    if seed is not None:
        torch.manual_seed(seed)
    # The task packages' builders may set the process-wide default scope
    # (mmseg's init_model does); keep it as it was.
    with DefaultScope.overwrite_default_scope(task.scope):
        model = task.build_model(cfg)
    if checkpoint is None:
        _init_weights(model)
    else:
        load_into(model, checkpoint, task)
    if torch.device(device).type != 'cuda':
        model = revert_sync_batchnorm(model)
    model.cfg = cfg
    return model.to(device).eval()


def load_into(model: nn.Module,
              checkpoint: str,
              task: Optional[TaskAdapter] = None) -> dict:
    """Load ``checkpoint`` strictly into ``model``; return its ``meta``.

    Raises:
        RuntimeError: If it does not fit, saying what to check.
    """
    try:
        ckpt = load_checkpoint(
            model,
            checkpoint,
            map_location='cpu',
            strict=True,
            logger='silent')
    except RuntimeError as e:
        raise RuntimeError(
            f'{checkpoint} does not fit the config\'s model: {e}\nUse the '
            'config the checkpoint was trained with, or fix the config with '
            '--cfg-options (e.g. model.head.num_classes=10).') from e
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    if meta.get('dataset_meta'):
        model.dataset_meta = meta['dataset_meta']
    return meta or {}


#: State-dict prefixes of FRSKDNeck's own tensors (its layers and
#: classifier): every FRSKD checkpoint has some, no student has any (a
#: student's own neck, e.g. an FPN, is ``neck.*`` or ``neck.neck.*``).
SELF_TEACHER_PREFIXES = ('neck.layers.', 'neck.fc.')


def has_self_teacher(checkpoint: str) -> bool:
    """Whether the checkpoint holds any self-teacher tensor
    (:data:`SELF_TEACHER_PREFIXES`), with or without the ``module.`` prefix
    of DDP; read lazily (mmap)."""
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu', mmap=True)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    prefixes = SELF_TEACHER_PREFIXES + tuple('module.' + p
                                             for p in SELF_TEACHER_PREFIXES)
    return any(k.startswith(prefixes) for k in state)


def _init_weights(model: nn.Module) -> None:
    """``init_weights`` without its per-parameter INFO lines."""
    import logging

    from mmengine.logging import MMLogger
    if not hasattr(model, 'init_weights'):
        return
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
