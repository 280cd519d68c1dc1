"""Test (and evaluate) a checkpoint with an frskd_mm config.

Same command line as MMPretrain 1.2.0's ``tools/test.py``::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--out-item metrics|pred] [--show-dir DIR] [--show] [--tta] [--amp]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

For segmentation configs (``default_scope='mmseg'``) ``--out``, ``--show``,
``--show-dir`` and ``--tta`` behave as in MMSegmentation 1.2.2's tool:
``--out`` is a directory for the predicted masks and ``--tta`` needs
``tta_model`` and ``tta_pipeline`` in the config. For detection configs
(``default_scope='mmdet'``) they behave as in MMDetection 3.3.0's tool:
``--out`` is a ``.pkl`` file of the detections.
"""
import argparse
from typing import List, Optional

import mmengine
from mmengine.config import Config, DictAction

from frskd_mm.tasks import TaskAdapter, get_task
from frskd_mm.utils import setup_distributed, tune_cpu_allocator
from frskd_mm.utils.runner import (add_launcher_args, add_run_guards,
                                   apply_dataloader_defaults, build_runner,
                                   drop_idle_persistent_workers,
                                   export_local_rank, set_work_dir)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out',
        help='the file to output results (classification); the directory '
        'for predicted masks (segmentation); a .pkl file of the detections '
        '(detection)')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='whether --out receives the metrics or the predictions. '
        'Defaults to the predictions.')
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
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision test')
    parser.add_argument(
        '--show-dir',
        help='directory where the visualization images will be saved.')
    parser.add_argument(
        '--show',
        action='store_true',
        help='whether to display the prediction results in a window.')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize per interval samples.')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='display time of every window. (second)')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='whether to disable the pin_memory option in dataloaders.')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='Test-time augmentation. Uses `tta_model` and `tta_pipeline` '
        'of the config; classification falls back to averaging the scores '
        'of the image and its horizontal flip.')
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

    cfg.load_from = args.checkpoint

    if args.amp:
        cfg.test_cfg.fp16 = True

    task.configure_test(cfg, args)

    apply_dataloader_defaults(
        cfg, ['test_dataloader'], task.dataloader_defaults(training=False),
        dict(pin_memory=False) if args.no_pin_memory else None)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    drop_idle_persistent_workers(cfg, ['test_dataloader'])
    add_run_guards(cfg, training=False)
    return cfg


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    tune_cpu_allocator()
    if args.out is None and args.out_item is not None:
        raise ValueError('Please use `--out` argument to specify the '
                         'path of the output file before using `--out-item`.')

    cfg = Config.fromfile(args.config)
    task = get_task(cfg)
    task.setup()
    cfg = merge_args(cfg, args, task)
    setup_distributed(cfg, args.launcher)

    runner = build_runner(cfg)
    task.configure_test_runner(runner, args)

    metrics = runner.test()

    if args.out and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
