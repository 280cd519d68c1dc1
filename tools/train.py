"""Train a model with an frskd_mm config (classification, segmentation or
detection).

Same command line as MMPretrain 1.2.0's ``tools/train.py``::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--no-validate] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm|mpi]

The task is read from the config's ``default_scope`` (``mmpretrain``,
``mmseg`` or ``mmdet``). Every run gets frskd_mm's guards
(``add_run_guards``): atomic checkpoints, data checks and, with
``randomness.deterministic=True``, an exactly continuing resume.
``--resume`` picks the newest complete checkpoint; checkpoints load
weights-only under torch >= 2.6 without
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``. ``--launcher pytorch`` also works on
CPU (gloo).
"""
import argparse
import logging
from typing import List, Optional

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from frskd_mm.tasks import TaskAdapter, get_task
from frskd_mm.utils import setup_distributed, tune_cpu_allocator
from frskd_mm.utils.runner import (add_launcher_args, add_run_guards,
                                   apply_dataloader_defaults, build_runner,
                                   drop_idle_persistent_workers,
                                   export_local_rank, resolve_resume,
                                   set_work_dir)


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
    add_launcher_args(parser)
    args = parser.parse_args(argv)
    export_local_rank(args)
    return args


def merge_args(cfg: Config,
               args: argparse.Namespace,
               task: Optional[TaskAdapter] = None) -> Config:
    """Merge the command-line arguments into ``cfg``.

    Args:
        cfg (Config): The loaded config.
        args (argparse.Namespace): Parsed arguments, see :func:`parse_args`.
        task (TaskAdapter, optional): The config's task; default
            :func:`frskd_mm.tasks.get_task` of ``cfg``.

    Returns:
        Config: ``cfg``, edited in place.
    """
    task = task or get_task(cfg)
    cfg.launcher = args.launcher

    set_work_dir(cfg, args.work_dir, args.config)

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
    overrides = {}
    if args.no_pin_memory:
        overrides['pin_memory'] = False
    if args.no_persistent_workers:
        overrides['persistent_workers'] = False
    apply_dataloader_defaults(cfg, fields,
                              task.dataloader_defaults(training=True),
                              overrides)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # After --cfg-options, so that options for the validation dataloader
    # (shared with test runs) do not clash with it.
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    drop_idle_persistent_workers(cfg, fields)
    add_run_guards(cfg, training=True)
    return cfg


def prepare_config(argv: Optional[List[str]] = None) -> Config:
    """The config that :func:`main` trains: loaded, its task's modules
    registered, the command line merged, ``--resume`` resolved and the
    launcher's process group set up.

    Args:
        argv (list[str], optional): The command line, see
            :func:`parse_args`.

    Returns:
        Config: The config to build the Runner from.
    """
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    task = get_task(cfg)
    task.setup()
    cfg = merge_args(cfg, args, task)
    resolve_resume(cfg)
    setup_distributed(cfg, args.launcher)
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    tune_cpu_allocator()
    runner = build_runner(prepare_config(argv))
    runner.train()


if __name__ == '__main__':
    main()
