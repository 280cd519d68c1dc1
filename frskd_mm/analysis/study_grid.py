"""The cells of an FRSKD study and the training config of one run.

A *cell* fixes the regime a model is trained in: the data (an image folder
and how many of its training images per class), the schedule length, the
batch size, the learning rate and the learning-rate schedule. Every field
left as None keeps the arm's config as it is. A study trains every arm (a
config plus overrides) in every cell at every seed, on the same
class-stratified subset per (cell, seed), from the same seed, so arms are
paired (``tools/analysis_tools/frskd_study.py``).

A grid is given as a JSON file::

    {"datasets": {"digits": "data/digits", "mnist": "data/mnist5k"},
     "centre": {"dataset": "digits", "per_class": 45, "epochs": 30,
                "batch": 64, "lr": 0.1, "schedule": "step"},
     "vary": {"schedule": ["cosine", "constant"], "batch": [32, 128]},
     "corners": [{"schedule": "constant", "per_class": 30}]}

which gives the centre, one cell per value in ``vary`` (the centre with
that one factor changed) and one per corner (the centre with the corner's
factors changed).
"""
import json
import os
import os.path as osp
import random
from dataclasses import asdict, dataclass, fields, replace
from typing import Dict, List, Optional, Tuple, Union

from mmengine.config import Config

#: Learning-rate schedules a cell can ask for: ``step`` is the paper
#: configs' MultiStepLR (x0.1 at 1/2 and 3/4 of training, as 100/150 of 200
#: epochs), ``cosine`` decays to 0 over the run, ``constant`` keeps the lr.
SCHEDULES = ('step', 'cosine', 'constant')
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp')


@dataclass(frozen=True)
class Cell:
    """One training regime; None keeps the config's own value.

    Args:
        epochs (int): Training epochs (the config's schedule is stretched to
            them).
        dataset (str, optional): Name of the image folder (a key of the
            grid's ``datasets``) to train and test on.
        per_class (int | str, optional): Training images kept per class, or
            ``'all'``.
        fraction (float, optional): Fraction of each class kept instead of
            a count, in (0, 1].
        batch (int, optional): Training batch size.
        lr (float, optional): Base learning rate.
        schedule (str, optional): One of :data:`SCHEDULES`.
    """
    epochs: int
    dataset: Optional[str] = None
    per_class: Optional[Union[int, str]] = None
    fraction: Optional[float] = None
    batch: Optional[int] = None
    lr: Optional[float] = None
    schedule: Optional[str] = None

    def __post_init__(self):
        if self.schedule is not None and self.schedule not in SCHEDULES:
            raise ValueError(f'schedule must be one of {SCHEDULES}, got '
                             f'{self.schedule!r}.')
        if self.per_class is not None and self.fraction is not None:
            raise ValueError('A cell sets per_class or fraction, not both.')
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise ValueError(
                f'fraction must be in (0, 1], got {self.fraction}.')
        if self.per_class is not None and self.per_class != 'all' and not (
                isinstance(self.per_class, int) and self.per_class > 0):
            raise ValueError('per_class must be a positive int or "all", got '
                             f'{self.per_class!r}.')

    @property
    def name(self) -> str:
        """A folder name for the cell, e.g. ``digits_45pc_30ep_bs64``."""
        parts = [self.dataset] if self.dataset else []
        if self.per_class is not None:
            parts.append(f'{self.per_class}pc')
        if self.fraction is not None:
            parts.append(f'frac{self.fraction:g}')
        parts.append(f'{self.epochs}ep')
        if self.batch is not None:
            parts.append(f'bs{self.batch}')
        if self.lr is not None:
            parts.append(f'lr{self.lr:g}')
        if self.schedule is not None:
            parts.append(self.schedule)
        return '_'.join(parts)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def subset_key(self) -> Tuple:
        """Cells with the same key train on the same subset per seed."""
        return (self.dataset, self.per_class, self.fraction)


def expand_grid(spec: dict) -> List[Tuple[str, Cell]]:
    """The cells of a grid spec (see the module docstring), each with a
    label: ``'centre'``, ``'<factor>=<value>'`` or ``'corner <k>'``.

    Raises:
        ValueError: On an unknown factor or a cell listed twice.
    """
    known = {f.name for f in fields(Cell)}
    centre = dict(spec['centre'])
    for part in [centre, spec.get('vary', {})] + list(spec.get('corners', [])):
        unknown = set(part) - known
        if unknown:
            raise ValueError(f'Unknown grid factors {sorted(unknown)}; '
                             f'known: {sorted(known)}.')
    base = Cell(**centre)
    cells = [('centre', base)]
    for factor, values in spec.get('vary', {}).items():
        for value in values:
            cells.append((f'{factor}={value}', replace(base, **{factor:
                                                                value})))
    for k, corner in enumerate(spec.get('corners', []), 1):
        cells.append((f'corner {k}', replace(base, **corner)))
    seen: Dict[Cell, str] = {}
    for label, cell in cells:
        if cell in seen:
            raise ValueError(f'Grid cell {label!r} repeats {seen[cell]!r} '
                             f'({cell.name}).')
        seen[cell] = label
    datasets = spec.get('datasets', {})
    for _, cell in cells:
        if cell.dataset is not None and cell.dataset not in datasets:
            raise ValueError(f'Cell {cell.name} uses dataset '
                             f'{cell.dataset!r}, which the grid\'s '
                             f'"datasets" ({sorted(datasets)}) does not '
                             'name.')
    return cells


def load_grid(path: str) -> dict:
    """Read a grid spec from a JSON file."""
    with open(path) as f:
        return json.load(f)


def class_folders(image_dir: str) -> List[str]:
    """The sorted class folders of an image folder, hidden ones skipped."""
    classes = sorted(
        d for d in os.listdir(image_dir)
        if not d.startswith('.') and osp.isdir(osp.join(image_dir, d)))
    if not classes:
        raise FileNotFoundError(f'No class folders in {image_dir!r}.')
    return classes


def write_subset(image_dir: str,
                 fraction: Optional[float] = None,
                 seed: int = 0,
                 out_file: str = 'subset.txt',
                 per_class: Optional[Union[int, str]] = None) -> int:
    """Write an annotation file of a class-stratified random subset.

    Each class keeps ``per_class`` of its images (all where it has fewer;
    ``'all'`` keeps all) or ``round(fraction * n_class)`` (at least one),
    drawn with ``random.Random(seed)``; lines are ``<class>/<file>
    <label>`` in MMPretrain's ``ann_file`` format, with labels the sorted
    class folders' indices.

    Args:
        image_dir (str): ``<data_root>/<data_prefix>``, one folder per class.
        fraction (float, optional): Fraction in (0, 1] of each class.
        seed (int): Seed of the draw.
        out_file (str): Where to write the annotation file.
        per_class (int | str, optional): Images per class instead.

    Returns:
        int: Number of images in the subset.
    """
    if (fraction is None) == (per_class is None):
        raise ValueError('write_subset takes fraction or per_class.')
    if fraction is not None and not 0 < fraction <= 1:
        raise ValueError(f'fractions must be in (0, 1], got {fraction}.')
    rng = random.Random(seed)
    lines = []
    for label, name in enumerate(class_folders(image_dir)):
        files = sorted(
            f for f in os.listdir(osp.join(image_dir, name))
            if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith('.'))
        if per_class is None:
            keep = max(1, round(fraction * len(files)))
        else:
            keep = len(files) if per_class == 'all' else min(
                per_class, len(files))
        lines += [
            f'{name}/{f} {label}' for f in sorted(rng.sample(files, keep))
        ]
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    # Whole or not at all: a run of another study on the same folder may
    # be reading it.
    tmp = f'{out_file}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.replace(tmp, out_file)
    return len(lines)


def study_config(config: str,
                 *,
                 ann_file: str,
                 epochs: int,
                 seed: int,
                 curves: bool = False,
                 data_root: Optional[str] = None,
                 cell: Optional[Cell] = None,
                 workers: Optional[int] = None,
                 gradients: Optional[int] = None) -> Config:
    """The arm's config for one run of a study.

    Trains on ``ann_file`` for ``epochs`` epochs at ``seed``; cosine or
    step schedulers are stretched to the new length; validation runs after
    the last epoch only (after every epoch with ``curves``, which also
    switches on the self-teacher's ``TeacherAccuracy`` for FRSKD models);
    one checkpoint is kept, no best checkpoint. ``data_root`` replaces the
    data root of every split; a config whose dataset is not an image folder
    (e.g. the CIFAR configs) is switched to MMPretrain's ``CustomDataset``
    on it, with its own augmentation (:func:`as_folder_dataset`). A
    ``cell`` sets batch size, learning rate and schedule. ``gradients``
    adds :class:`~frskd_mm.engine.hooks.GradientSourceHook` at that
    interval (and logs at it).

    Returns:
        mmengine.Config: The config to dump and train.
    """
    cfg = Config.fromfile(config)
    old_epochs = cfg.get('train_cfg', {}).get('max_epochs')
    if old_epochs is None:
        raise ValueError(
            f'{config}: the study needs an epoch-based config '
            '(train_cfg.max_epochs); iteration-based configs are not '
            'supported.')
    if data_root is not None:
        if cfg.train_dataloader.dataset.get('type') == 'CustomDataset':
            for split in ('train', 'val', 'test'):
                if cfg.get(f'{split}_dataloader'):
                    cfg[f'{split}_dataloader'].dataset.data_root = data_root
        else:
            as_folder_dataset(cfg, data_root)
    dataset = cfg.train_dataloader.dataset
    image_dir = osp.join(
        dataset.get('data_root', ''),
        dataset.get('data_prefix', '') or '')
    dataset.ann_file = osp.abspath(ann_file)
    dataset.data_prefix = osp.abspath(image_dir)
    dataset.data_root = ''
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = 1 if curves else epochs
    _stretch_schedule(cfg, old_epochs, epochs)
    if cell is not None:
        if cell.batch is not None:
            cfg.train_dataloader.batch_size = cell.batch
        if cell.lr is not None:
            cfg.optim_wrapper.optimizer.lr = cell.lr
        if cell.schedule is not None:
            cfg.param_scheduler = schedule_config(cell.schedule, epochs)
    if workers is not None:
        for split in ('train', 'val', 'test'):
            loader = cfg.get(f'{split}_dataloader')
            if loader:
                loader.num_workers = workers
                loader.persistent_workers = workers > 0
    if gradients:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='GradientSourceHook', interval=gradients)
        ]
        cfg.default_hooks.logger = dict(type='LoggerHook', interval=gradients)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=epochs, max_keep_ckpts=1)
    cfg.randomness = dict(seed=seed)
    neck = cfg.model.get('neck') or {}
    if curves and neck.get('type') == 'FRSKDNeck':
        neck.eval_teacher = True
        evaluators = cfg.val_evaluator if isinstance(
            cfg.val_evaluator, list) else [cfg.val_evaluator]
        cfg.val_evaluator = list(evaluators) + [dict(type='TeacherAccuracy')]
    return cfg


def schedule_config(schedule: str, epochs: int) -> list:
    """``param_scheduler`` of a :data:`SCHEDULES` entry over ``epochs``."""
    if schedule == 'step':
        return [
            dict(
                type='MultiStepLR',
                by_epoch=True,
                milestones=[round(epochs / 2),
                            round(epochs * 3 / 4)],
                gamma=0.1)
        ]
    if schedule == 'cosine':
        return [
            dict(
                type='CosineAnnealingLR',
                by_epoch=True,
                T_max=epochs,
                convert_to_iter_based=True)
        ]
    if schedule == 'constant':
        return []
    raise ValueError(f'schedule must be one of {SCHEDULES}, got '
                     f'{schedule!r}.')


def as_folder_dataset(cfg: Config, data_root: str) -> None:
    """Train and test a classification config on an image folder instead.

    Every split's dataset becomes MMPretrain's ``CustomDataset`` on
    ``<data_root>/train`` (training) or ``<data_root>/test`` (validation
    and test) with the split's own pipeline (a ``LoadImageFromFile`` put in
    front where the dataset decoded images itself, as CIFAR's does); the
    number of classes of the head, the self-teacher and the data
    preprocessor is set to the folder's. This is how a user runs a config
    on their own small data set.

    Args:
        cfg (Config): A classification config, changed in place.
        data_root (str): Folder with ``train/<class>/`` and
            ``test/<class>/``.
    """
    num_classes = len(class_folders(osp.join(data_root, 'train')))
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        pipeline = list(loader.dataset.get('pipeline', []))
        if not pipeline or pipeline[0].get('type') != 'LoadImageFromFile':
            pipeline = [dict(type='LoadImageFromFile')] + pipeline
        loader.dataset = dict(
            type='CustomDataset',
            data_root=data_root,
            data_prefix='train' if split == 'train' else 'test',
            pipeline=pipeline)
    for part in ('head', 'neck'):
        module = cfg.model.get(part) or {}
        if 'num_classes' in module:
            module.num_classes = num_classes
    if 'num_classes' in cfg.get('data_preprocessor', {}):
        cfg.data_preprocessor.num_classes = num_classes
    if 'num_classes' in (cfg.model.get('data_preprocessor') or {}):
        cfg.model.data_preprocessor.num_classes = num_classes
    for key in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg.get(key)
        for evaluator in (evaluators if isinstance(evaluators, list) else
                          [evaluators] if evaluators else []):
            if evaluator.get('type') == 'Accuracy':
                evaluator.topk = tuple(
                    k for k in evaluator.get('topk', (1, ))
                    if k < num_classes) or (1, )


def _stretch_schedule(cfg: Config, old_epochs: int, epochs: int) -> None:
    """Stretch the config's cosine and step schedulers to ``epochs``."""
    schedulers = cfg.get('param_scheduler') or []
    for scheduler in (schedulers
                      if isinstance(schedulers, list) else [schedulers]):
        if 'T_max' in scheduler and scheduler.get('by_epoch', True):
            scheduler.T_max = epochs
        if scheduler.get('end') == old_epochs:
            scheduler.end = epochs
        if 'milestones' in scheduler:
            scheduler.milestones = [
                round(m * epochs / old_epochs) for m in scheduler.milestones
            ]
