"""Pieces shared by tools/train.py and tools/test.py.

Both tools follow MMPretrain's command line; what they have in common
(launcher flags, work directory, dataloader defaults, building the runner)
lives here so that the two stay in step.
"""
import argparse
import os
import os.path as osp
from copy import deepcopy
from typing import Iterable, Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .distributed import LAUNCHERS


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--launcher`` and the ``--local_rank`` of older launchers.

    ``torch.distributed.launch`` passes ``--local-rank`` (torch >= 2.0) or
    ``--local_rank`` (older); ``torchrun`` sets ``LOCAL_RANK`` instead. Call
    :func:`export_local_rank` on the parsed arguments.
    """
    parser.add_argument(
        '--launcher', choices=list(LAUNCHERS), default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def export_local_rank(args: argparse.Namespace) -> None:
    """Set ``LOCAL_RANK`` from ``--local_rank`` unless a launcher set it."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)


def set_work_dir(cfg: Config, work_dir: str, config_path: str) -> None:
    """``cfg.work_dir``: the CLI's, else the config's, else
    ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


def dataloader_defaults(task: str, persistent_workers: bool) -> ConfigDict:
    """MMPretrain's tool defaults for classification dataloaders.

    ``pin_memory`` when CUDA is available, ``default_collate`` and, for
    training, ``persistent_workers``; segmentation keeps MMSegmentation's
    defaults (``pseudo_collate``), so it gets none.
    """
    if task != 'classification':
        return ConfigDict()
    defaults = ConfigDict(pin_memory=torch.cuda.is_available(),
                          collate_fn=dict(type='default_collate'))
    if persistent_workers:
        defaults.persistent_workers = True
    return defaults


def apply_dataloader_defaults(cfg: Config, fields: Iterable[str],
                              defaults: ConfigDict,
                              overrides: Optional[dict] = None) -> None:
    """Fill ``defaults`` into each present dataloader (the config wins),
    then set ``overrides`` (command-line switches such as
    ``--no-pin-memory``: they win over the config)."""
    for field in fields:
        if cfg.get(field, None) is None:
            continue
        loader = deepcopy(defaults)
        loader.update(cfg[field])
        loader.update(overrides or {})
        cfg[field] = loader


def drop_idle_persistent_workers(cfg: Config, fields: Iterable[str]) -> None:
    """Drop ``persistent_workers`` where ``num_workers`` is 0.

    PyTorch's DataLoader refuses ``persistent_workers=True`` without
    workers, which would make ``--cfg-options
    train_dataloader.num_workers=0`` fail.
    """
    for field in fields:
        loader = cfg.get(field, None)
        if loader is not None and loader.get('num_workers', 0) == 0 and \
                loader.get('persistent_workers', False):
            loader['persistent_workers'] = False


def build_runner(cfg: Config) -> Runner:
    """Build MMEngine's Runner, or the registered ``runner_type``."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
