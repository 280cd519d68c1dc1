"""The local data of a run's dataset configs, checked before any dataset
is built.

:func:`check_dataset_configs` reads the dataset configs of a run and
raises when the local data is missing or laid out so that an upstream
dataset would read it wrongly (hidden folders that ``CustomDataset`` makes
classes), naming the config key and the fix; the tools call it with their
run guards (:func:`frskd_mm.utils.runner.add_run_guards`).
"""
import os
import os.path as osp
from typing import Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from .box_checks import check_coco, check_coco_evaluators, check_voc_boxes
from .config_types import config_type_name
from .data_checks import is_hidden
from .voc_checks import check_voc

#: The dataloaders whose datasets :func:`check_dataset_configs` checks.
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: MMPretrain's ``CustomDataset`` default image extensions.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')
#: Per CIFAR type: folder under the data root, its files, the archive.
CIFAR_FILES = {
    'CIFAR10':
    ('cifar-10-batches-py',
     [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch', 'batches.meta'],
     'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'),
    'CIFAR100': ('cifar-100-python', ['train', 'test', 'meta'],
                 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz'),
}
_MAX_LISTED = 5


def check_dataset_configs(cfg, loaders: Sequence[str] = DATALOADERS) -> None:
    """Check the local data of every dataset a config reads, before any
    dataset is built.

    Walks the datasets of ``loaders`` (by default ``train_dataloader``,
    ``val_dataloader`` and ``test_dataloader``; absent ones are skipped)
    through wrappers (a ``datasets`` list as in ``ConcatDataset``, a
    ``dataset`` as in ``RepeatDataset``, ``ClassBalancedDataset`` or
    ``DrawSeededDataset``) and checks the
    datasets it knows by type name (with or without a scope prefix such as
    ``mmpretrain.``); others are left to their own checks. Each error
    names the config key (e.g. ``val_dataloader.dataset.data_root``) and
    the fix.

    - ``CustomDataset`` (MMPretrain): ``data_root``, the image folder
      (``data_root`` + ``data_prefix``) and ``ann_file`` exist. Without
      ``ann_file``: the folder has class sub-folders, none of them hidden
      (a name starting with ``.``, e.g. ``.ipynb_checkpoints``:
      ``CustomDataset`` makes every sub-folder a class, which shifts the
      labels of the classes after it), no hidden folder or file inside
      them holds images (they would be read as samples), and their number
      agrees with ``metainfo.classes`` when set.
    - ``PascalVOCDataset`` (MMSegmentation): ``data_root``, the image and
      label folders and the split file (``ann_file``) exist; the message
      gives the layout (VOC2012 (+ SBD aug) with the year folder as
      ``data_root``, or the VOCdevkit with VOC2007/VOC2012 sub-folders as
      the VOC0712 configs read it) and the ``--cfg-options`` that point
      every VOC dataset of the config at another folder
      (:func:`~frskd_mm.utils.voc_checks.check_voc`).
    - ``CIFAR10``/``CIFAR100`` (upstream, only with ``download=False``)
      and ``LocalCIFAR10``/``LocalCIFAR100``: the pickled files are in
      ``<data_root>/<cifar-10-batches-py|cifar-100-python>/``.
    - ``DigitCanvasDataset``: the image and label folders exist (else: how
      to write them with the converter).
    - ``CocoDataset`` (MMDetection): ``ann_file`` exists and is a COCO json
      with images, categories, annotations (unless ``test_mode``) and the
      class names of ``metainfo.classes``; the image folder exists; and
      the ``ann_file`` of a ``CocoMetric`` in the evaluator of a split
      that the run uses exists (:mod:`~frskd_mm.utils.box_checks`).
    - ``VOCDataset`` (MMDetection): the split file and the year folder's
      ``Annotations`` and ``JPEGImages`` exist.

    Only local paths are checked: a dataset config with ``backend_args``
    set, or a path with ``://``, is skipped. Relative paths are relative to
    the working directory, as when the datasets are built.

    Args:
        cfg (Config | dict): A run's config.
        loaders (Sequence[str]): The dataloaders the run builds, e.g.
            ``('train_dataloader', 'val_dataloader')`` for training,
            ``('test_dataloader', )`` for testing: the others' data need
            not be there.

    Raises:
        FileNotFoundError: A folder or file is missing.
        ValueError: The layout would be read wrongly (hidden folders, a
            class count that disagrees with ``metainfo``).
    """
    leaves = list(dataset_configs(cfg, loaders))
    # A VOC message gives the layout of every VOC dataset of the config and
    # the --cfg-options that set them all.
    voc = [(key, ds) for key, ds in dataset_configs(cfg)
           if config_type_name(ds) == 'PascalVOCDataset']
    seen: Set[tuple] = set()
    for key, ds in leaves:
        name = config_type_name(ds)
        if not _is_local(ds):
            continue
        settings = sorted(
            (k, repr(v)) for k, v in ds.items() if k != 'pipeline')
        signature = (name, repr(settings))
        if signature in seen:  # e.g. test_dataloader = val_dataloader
            continue
        seen.add(signature)
        if name == 'CustomDataset':
            _check_custom_dataset(key, ds)
        elif name == 'PascalVOCDataset':
            check_voc(key, ds, voc)
        elif name in ('LocalCIFAR10', 'LocalCIFAR100') or (
                name in CIFAR_FILES and ds.get('download', True) is False):
            _check_cifar(key, ds, name.replace('Local', ''))
        elif name == 'DigitCanvasDataset':
            _check_digit_canvas(key, ds)
        elif name == 'CocoDataset':
            check_coco(key, ds)
        elif name == 'VOCDataset':
            check_voc_boxes(key, ds)
    check_coco_evaluators(cfg, loaders)


def dataset_configs(
        cfg,
        loaders: Sequence[str] = DATALOADERS) -> Iterator[Tuple[str, dict]]:
    """``(key, dataset config)`` of every dataset the dataloaders
    ``loaders`` of ``cfg`` read, under any wrappers, e.g.
    ``('train_dataloader.dataset.datasets.1', {...})``."""
    for loader_key in loaders:
        loader = cfg.get(loader_key, None)
        if not isinstance(loader, dict):
            continue
        dataset = loader.get('dataset', None)
        if isinstance(dataset, dict):
            yield from _leaf_configs(dataset, f'{loader_key}.dataset')


def loader_pipeline(cfg, split: str) -> list:
    """The transforms of the first dataset that ``<split>_dataloader``
    reads, looking inside wrappers (``dataset``, or the first of
    ``datasets``) down to the first config with a ``pipeline``, else the
    config's ``<split>_pipeline``; an empty list if it has neither."""
    dataset = (cfg.get(f'{split}_dataloader', None) or {}).get('dataset', {})
    while isinstance(dataset, dict) and 'pipeline' not in dataset:
        inner = dataset.get('dataset', None) or (dataset.get('datasets')
                                                 or [None])[0]
        if inner is None:
            break
        dataset = inner
    pipeline = dataset.get('pipeline') if isinstance(dataset, dict) else None
    return list(pipeline or cfg.get(f'{split}_pipeline', None) or [])


def _leaf_configs(ds: dict, key: str) -> Iterator[Tuple[str, dict]]:
    inner = ds.get('datasets', None)
    if isinstance(inner, (list, tuple)):
        for i, d in enumerate(inner):
            if isinstance(d, dict):
                yield from _leaf_configs(d, f'{key}.datasets.{i}')
        return
    inner = ds.get('dataset', None)
    if isinstance(inner, dict):
        yield from _leaf_configs(inner, f'{key}.dataset')
        return
    yield key, ds


def _is_local(ds: dict) -> bool:
    if ds.get('backend_args', None) is not None:
        return False
    paths = [ds.get('data_root', None), ds.get('ann_file', None)]
    prefix = ds.get('data_prefix', None)
    paths += list(prefix.values()) if isinstance(prefix, dict) else [prefix]
    return not any(isinstance(p, str) and '://' in p for p in paths)


def _join(root: Optional[str], path: str) -> str:
    """``path`` joined to ``root`` as MMEngine's ``BaseDataset`` does."""
    if root and not osp.isabs(path):
        return osp.join(root, path) if path else root
    return path


def _data_root_fix(key: str) -> str:
    return (f'prepare the data there (see the README, "Data") or point '
            f'the config at it with --cfg-options {key}.data_root=DIR')


def _check_data_root(key: str, ds: dict, layout: str) -> Optional[str]:
    """Raise if ``data_root`` is set and is not a folder; return it."""
    root = ds.get('data_root', None) or None
    if root and not osp.isdir(root):
        raise FileNotFoundError(
            f'{key}.data_root: folder {root!r} does not exist. Expected '
            f'{layout}; {_data_root_fix(key)}.')
    return root


def _listed(paths: Sequence[str]) -> str:
    shown = [repr(p) for p in paths[:_MAX_LISTED]]
    if len(paths) > _MAX_LISTED:
        shown.append(f'... ({len(paths)} in all)')
    return ', '.join(shown)


def _check_custom_dataset(key: str, ds: dict) -> None:
    prefix = ds.get('data_prefix', None) or ''
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path', '') or ''
    ann_file = ds.get('ann_file', None) or ''
    layout = ('one sub-folder per class with its images, '
              '<data_root>/<data_prefix>/<class_name>/<image>'
              if not ann_file else 'the images under <data_root>/'
              '<data_prefix>/ and the annotation file <data_root>/<ann_file>')
    root = _check_data_root(key, ds, layout)
    folder = _join(root, prefix)
    if ann_file:
        path = _join(root, ann_file)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{key}.ann_file: annotation file {path!r} does not exist '
                '(relative paths are under data_root). Prepare it (one '
                '"<image path> <label>" per line, see the README, "Data") or '
                f'fix it with --cfg-options {key}.ann_file=FILE.')
        if folder and not osp.isdir(folder):
            raise FileNotFoundError(
                f'{key}.data_prefix: image folder {folder!r} does not exist '
                f'(data_root + data_prefix). Expected {layout}; fix it with '
                f'--cfg-options {key}.data_prefix=FOLDER or '
                f'{key}.data_root=DIR.')
        return
    if not folder:
        return  # CustomDataset itself asks for data_root or data_prefix
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'{key}: dataset folder {folder!r} (data_root + data_prefix) '
            f'does not exist. Expected {layout}, e.g. '
            f'{osp.join(folder, "<class_name>", "0001.jpg")!r}; prepare it '
            f'(see the README, "Data") or set --cfg-options '
            f'{key}.data_root=DIR (and {key}.data_prefix=SPLIT).')
    with_label = ds.get('with_label', True)
    extensions = tuple(e.lower()
                       for e in ds.get('extensions', None) or IMAGE_EXTENSIONS)
    if not with_label:
        _check_hidden_images(key, folder, [folder], extensions)
        return
    folders = sorted(e.name for e in os.scandir(folder) if e.is_dir())
    hidden = [f for f in folders if is_hidden(f)]
    if hidden:
        paths = [osp.join(folder, f) for f in hidden]
        raise ValueError(
            f'{key}: {folder!r} (data_root + data_prefix) has hidden '
            f'folder(s) {hidden} beside its class folders. MMPretrain\'s '
            'CustomDataset makes every sub-folder a class, so they would '
            'become classes and shift the labels of the classes after '
            f'them. Delete or move them (e.g. rm -r {" ".join(paths)}), '
            'then run again.')
    if not folders:
        raise FileNotFoundError(
            f'{key}: {folder!r} (data_root + data_prefix) has no class '
            f'sub-folder. Expected {layout}; fix the folder or set '
            f'--cfg-options {key}.data_root=DIR (and '
            f'{key}.data_prefix=SPLIT).')
    classes = (ds.get('metainfo', None) or {}).get('classes', None)
    if isinstance(classes, (list, tuple)) and len(classes) != len(folders):
        raise ValueError(
            f'{key}: {folder!r} has {len(folders)} class folders '
            f'{folders[:20]} but {key}.metainfo.classes lists '
            f'{len(classes)} classes; make them agree (one folder per '
            'class, in the order of the class list).')
    _check_hidden_images(key, folder, [osp.join(folder, f) for f in folders],
                         extensions)


def _check_hidden_images(key: str, folder: str, tops: Iterable[str],
                         extensions: Tuple[str, ...]) -> None:
    """Raise if a hidden folder or file under ``tops`` holds images that
    ``CustomDataset`` would read as samples (``.ipynb_checkpoints`` copies,
    macOS ``._*`` files)."""
    found: List[str] = []
    for top in tops:
        for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
            dirnames.sort()
            rel = osp.relpath(dirpath, top)
            hidden_dir = None
            if rel != '.':
                parts = rel.split(os.sep)
                for i, part in enumerate(parts):
                    if is_hidden(part):
                        hidden_dir = osp.join(top, *parts[:i + 1])
                        break
            for name in sorted(filenames):
                if not name.lower().endswith(extensions):
                    continue
                if hidden_dir is not None:
                    path = hidden_dir
                elif is_hidden(name):
                    path = osp.join(dirpath, name)
                else:
                    continue
                if path not in found:
                    found.append(path)
                if hidden_dir is not None:
                    break
    if found:
        raise ValueError(
            f'{key}: hidden folder(s) or file(s) with images under '
            f'{folder!r}: {_listed(found)}. MMPretrain\'s CustomDataset '
            'reads every image file below a class folder, hidden ones '
            'included (notebook checkpoints would be duplicate samples, '
            'macOS ._* files unreadable ones). Delete or move them, then '
            'run again.')


def _check_cifar(key: str, ds: dict, kind: str) -> None:
    base_folder, files, url = CIFAR_FILES[kind]
    root = ds.get('data_root', None) or ''
    prefix = ds.get('data_prefix', None) or ''
    if isinstance(prefix, dict):
        prefix = prefix.get('root', '') or ''
    top = _join(root, prefix)
    if not top:
        return  # the dataset itself asks for data_root
    folder = osp.join(top, base_folder)
    missing = [f for f in files if not osp.isfile(osp.join(folder, f))]
    if missing:
        raise FileNotFoundError(
            f'{key}.data_root: {config_type_name(ds)} files {missing} not '
            f'found in {folder!r}. Download {url} and extract it into '
            f'{top!r} (so that {osp.join(folder, files[0])!r} exists), or '
            'point the config at your copy with --cfg-options '
            f'{key}.data_root=DIR.')


def _check_digit_canvas(key: str, ds: dict) -> None:
    root = ds.get('data_root', None) or None
    prefix = ds.get('data_prefix', None) or {}
    for sub in ('img_path', 'seg_map_path'):
        folder = _join(root, prefix.get(sub, '') or '')
        if folder and not osp.isdir(folder):
            raise FileNotFoundError(
                f'{key}: DigitCanvasDataset folder {folder!r} '
                f'({key}.data_prefix.{sub} under data_root) does not exist. '
                'Write the digit canvases with `python tools/'
                'dataset_converters/digit_canvas_to_seg.py '
                f'{root or "data/digit_canvas"}`, or point the config at '
                f'them with --cfg-options {key}.data_root=DIR.')
