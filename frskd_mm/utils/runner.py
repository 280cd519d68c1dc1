"""Pieces shared by tools/train.py and tools/test.py.

Both tools follow MMPretrain's command line; what they have in common
(launcher flags, work directory, applying dataloader defaults, the
run-time guards,
resolving ``--resume``, building the runner) lives here so that the two
stay in step. The guards' hooks, samplers and datasets are named by their
registered type names, so this module imports nothing above ``utils``.
"""
import argparse
import logging
import os
import os.path as osp
from copy import deepcopy
from typing import Iterable, Optional

from mmengine.config import Config, ConfigDict
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .dataset_checks import check_dataset_configs
from .distributed import LAUNCHERS


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--launcher`` and the ``--local_rank`` of older launchers.

    ``torch.distributed.launch`` passes ``--local-rank`` (torch >= 2.0) or
    ``--local_rank`` (older); ``torchrun`` sets ``LOCAL_RANK`` instead. Call
    :func:`export_local_rank` on the parsed arguments.
    """
    parser.add_argument(
        '--launcher',
        choices=list(LAUNCHERS),
        default='none',
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


def apply_dataloader_defaults(cfg: Config,
                              fields: Iterable[str],
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


#: Hooks that add_run_guards adds; strip_run_guards removes them.
GUARD_HOOKS = ('DataCheckHook', 'RandomStateHook')
#: The dataloaders of a config.
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def add_run_guards(cfg: Config, training: bool) -> None:
    """Add frskd_mm's run-time guards to any config (ours or a user's).

    - :func:`~frskd_mm.utils.dataset_checks.check_dataset_configs` (both
      tools, right away): the local data of the dataloaders the tool uses
      exists, hidden folders are not classes; errors name the config key.
    - ``DataCheckHook`` (both tools): class lists of the splits, label
      values, label-map sizes, checked before and during the run.
    - ``collate_with_size_check`` around each dataloader's ``collate_fn``
      (MMEngine's ``pseudo_collate`` if none; both tools): a batch whose
      images differ in size names the odd image.
    - ``AtomicCheckpointHook`` instead of MMEngine's ``CheckpointHook``
      (training): a kill during a save never loses the run.
    - With ``randomness.deterministic=True`` (training): ``RandomStateHook``
      and draw-seeded training data (``DrawSeededSampler`` around the
      sampler, ``DrawSeededDataset`` around the dataset), so that a
      resumed run continues exactly as the uninterrupted one.

    Args:
        cfg (Config): The config, edited in place.
        training (bool): For tools/train.py (True) or tools/test.py.
    """
    # The data the tool will read exists where the config says, before any
    # dataset is built (test runs do not need the training data).
    if training:
        loaders = ['train_dataloader']
        if cfg.get('val_cfg', None) is not None and \
                cfg.get('val_dataloader', None) is not None:
            loaders.append('val_dataloader')
    else:
        loaders = ['test_dataloader']
    check_dataset_configs(cfg, loaders)
    for field in LOADERS:
        if cfg.get(field, None) is not None:
            _check_collated_sizes(cfg[field])
    hooks = list(cfg.get('custom_hooks', None) or [])
    names = {h.get('type') for h in hooks if isinstance(h, dict)}
    extra = ['DataCheckHook']
    if training:
        _use_atomic_checkpoints(cfg)
        if (cfg.get('randomness', None) or {}).get('deterministic', False):
            extra.append('RandomStateHook')
            _seed_training_draws(cfg)
    cfg.custom_hooks = hooks + [dict(type=t) for t in extra if t not in names]


def strip_run_guards(cfg: dict) -> dict:
    """Undo :func:`add_run_guards` on a plain config dict (e.g. the config
    a run dumped into its work directory), for upstream installs without
    frskd_mm. Edits and returns ``cfg``."""
    cfg['custom_hooks'] = [
        h for h in cfg.get('custom_hooks', None) or []
        if not (isinstance(h, dict) and h.get('type') in GUARD_HOOKS)
    ]
    checkpoint = (cfg.get('default_hooks', None) or {}).get('checkpoint')
    if isinstance(checkpoint, dict) and \
            checkpoint.get('type') == 'AtomicCheckpointHook':
        checkpoint['type'] = 'CheckpointHook'
    for field in LOADERS:
        loader = cfg.get(field, None)
        if not isinstance(loader, dict):
            continue
        for key, wrapper, inner in (('dataset', 'DrawSeededDataset',
                                     'dataset'),
                                    ('sampler', 'DrawSeededSampler',
                                     'sampler'), ('collate_fn',
                                                  'collate_with_size_check',
                                                  'collate_fn')):
            value = loader.get(key, None)
            if isinstance(value, dict) and value.get('type') == wrapper:
                loader[key] = value.get(inner, dict(type='pseudo_collate'))
    return cfg


def _check_collated_sizes(loader: ConfigDict) -> None:
    collate = loader.get('collate_fn', dict(type='pseudo_collate'))
    if isinstance(collate, dict) and \
            collate.get('type') == 'collate_with_size_check':
        return
    loader.collate_fn = dict(
        type='collate_with_size_check', collate_fn=collate)


def _use_atomic_checkpoints(cfg: Config) -> None:
    default_hooks = cfg.get('default_hooks', None)
    if default_hooks is None:
        cfg.default_hooks = default_hooks = ConfigDict()
    if 'checkpoint' not in default_hooks:
        # MMEngine's default: CheckpointHook(interval=1).
        default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    checkpoint = default_hooks.checkpoint
    if checkpoint is not None and checkpoint.get('type') in (
            'CheckpointHook', 'mmengine.CheckpointHook'):
        checkpoint['type'] = 'AtomicCheckpointHook'


def _seed_training_draws(cfg: Config) -> None:
    loader = cfg.get('train_dataloader', None)
    if loader is None or loader.get('dataset',
                                    {}).get('type') == 'DrawSeededDataset':
        return
    loader.dataset = dict(type='DrawSeededDataset', dataset=loader.dataset)
    loader.sampler = dict(type='DrawSeededSampler', sampler=loader.sampler)


def resolve_resume(cfg: Config) -> None:
    """Turn ``--resume`` without a path into the newest complete checkpoint.

    MMEngine resumes from the file named in ``<work_dir>/last_checkpoint``;
    this picks the newest complete checkpoint instead (see
    :func:`frskd_mm.utils.find_resume_checkpoint`), or starts afresh with a
    warning when the work directory has none. When the config leaves
    ``randomness.seed`` unset, the checkpoint's seed is used, so that the
    samplers continue with the seed of the run they resume.
    """
    from mmengine.logging import print_log

    from .checkpoint import find_resume_checkpoint, load_checkpoint_file

    if cfg.get('resume', False) and cfg.get('load_from', None) is None:
        hook = (cfg.get('default_hooks', None) or {}).get('checkpoint') or {}
        cfg.load_from = find_resume_checkpoint(cfg.work_dir,
                                               hook.get('filename_tmpl', None))
        if cfg.load_from is None:
            cfg.resume = False
            print_log(
                f'--resume: no checkpoint in {cfg.work_dir}; training '
                'starts from the beginning.',
                logger='current',
                level=logging.WARNING)
            return
    if not cfg.get('resume', False):
        return
    randomness = cfg.get('randomness', None) or ConfigDict()
    if randomness.get('seed', None) is None:
        meta = load_checkpoint_file(
            cfg.load_from, map_location='cpu', mmap=True).get('meta', {})
        if meta.get('seed', None) is not None:
            randomness['seed'] = int(meta['seed'])
            cfg.randomness = randomness


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
