"""Train a model with an frskd_mm config (classification or segmentation).

Same command line as MMPretrain 1.2.0's ``tools/train.py``::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--no-validate] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm|mpi]

The task is read from the config's ``default_scope`` (``mmpretrain`` or
``mmseg``). MMEngine checkpoints resume under torch >= 2.6 without
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``, and ``--launcher pytorch`` also works
on CPU (gloo).
"""
import argparse
import logging
import os
import os.path as osp
import sys
from copy import deepcopy
from typing import List, Optional

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# Let `python tools/train.py` import frskd_mm from this checkout.
_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from frskd_mm.utils import (allow_mmengine_checkpoints,  # noqa: E402
                            setup_distributed, setup_task)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If a checkpoint path is given, resume from it; without one, '
        'resume from the latest checkpoint in the work directory.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size over '
        '`auto_scale_lr.base_batch_size` of the config')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable the pin_memory option of the dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable the persistent_workers option of the dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank (older); torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def set_dataloader_defaults(cfg: Config, fields: List[str], task: str,
                            no_pin_memory: bool,
                            no_persistent_workers: bool) -> None:
    """Fill in MMPretrain's dataloader defaults and apply the CLI switches.

    Classification dataloaders get ``pin_memory`` (when CUDA is available),
    ``persistent_workers=True`` and ``collate_fn=default_collate`` unless
    the config sets them, as in MMPretrain's tools; segmentation
    dataloaders keep MMSegmentation's defaults (``pseudo_collate``).
    """
    defaults = ConfigDict()
    if task == 'classification':
        defaults = ConfigDict(
            pin_memory=torch.cuda.is_available(),
            persistent_workers=True,
            collate_fn=dict(type='default_collate'))
    for field in fields:
        if cfg.get(field, None) is None:
            continue
        dataloader_cfg = deepcopy(defaults)
        dataloader_cfg.update(cfg[field])
        cfg[field] = dataloader_cfg
        if no_pin_memory:
            cfg[field]['pin_memory'] = False
        if no_persistent_workers:
            cfg[field]['persistent_workers'] = False


def fix_dataloaders(cfg: Config, fields: List[str]) -> None:
    """Drop ``persistent_workers`` where ``num_workers`` is 0.

    PyTorch's DataLoader refuses ``persistent_workers=True`` without
    workers, which would make ``--cfg-options
    train_dataloader.num_workers=0`` fail.
    """
    for field in fields:
        loader = cfg.get(field, None)
        if loader is None:
            continue
        if loader.get('num_workers', 0) == 0 and loader.get(
                'persistent_workers', False):
            loader['persistent_workers'] = False


def merge_args(cfg: Config, args: argparse.Namespace,
               task: str = 'classification') -> Config:
    """Merge the command-line arguments into ``cfg``.

    Args:
        cfg (Config): The loaded config.
        args (argparse.Namespace): Parsed arguments, see :func:`parse_args`.
        task (str): ``'classification'`` or ``'segmentation'``, from
            :func:`frskd_mm.utils.setup_task`.

    Returns:
        Config: ``cfg``, edited in place.
    """
    cfg.launcher = args.launcher

    # work_dir: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in the config.',
                logger='current',
                level=logging.WARNING)
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        if cfg.get('auto_scale_lr', None) is None:
            raise ValueError(
                '--auto-scale-lr needs `auto_scale_lr = '
                'dict(base_batch_size=...)` in the config (the total batch '
                'size the learning rate was set for).')
        cfg.auto_scale_lr.enable = True

    fields = ['train_dataloader', 'val_dataloader', 'test_dataloader']
    set_dataloader_defaults(cfg, fields, task, args.no_pin_memory,
                            args.no_persistent_workers)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # After --cfg-options, so that options for the validation dataloader
    # (shared with test runs) do not clash with it.
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    fix_dataloaders(cfg, fields)
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Build MMEngine's Runner, or the registered ``runner_type``."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    allow_mmengine_checkpoints()

    cfg = Config.fromfile(args.config)
    task = setup_task(cfg)
    cfg = merge_args(cfg, args, task)
    setup_distributed(cfg, args.launcher)

    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    main()
