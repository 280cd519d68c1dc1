"""The box-annotation part of :func:`~frskd_mm.utils.dataset_checks.
check_dataset_configs`: MMDetection's ``CocoDataset`` (a COCO-format json)
and ``VOCDataset`` (VOC's XML annotations) configs whose annotations are
missing, empty or unreadable, and ``CocoMetric`` evaluators whose
annotation file is missing; each error names the config key and the fix.
"""
import json
import os.path as osp
from typing import Optional, Sequence

#: Annotation files up to this size are parsed in full by the check; larger
#: ones (COCO's train2017 json is 450 MB) only checked to start a JSON
#: object, so the check does not read them twice.
MAX_PARSED_BYTES = 64 * 2**20

_COCO_LAYOUT = ('a COCO-format json: {"images": [{"id", "file_name", '
                '"width", "height"}, ...], "annotations": [{"id", '
                '"image_id", "category_id", "bbox": [x, y, w, h], "area", '
                '"iscrowd"}, ...], "categories": [{"id", "name"}, ...]}')


def _join(root: Optional[str], path: str) -> str:
    """``path`` joined to ``root`` as MMEngine's ``BaseDataset`` does."""
    if root and not osp.isabs(path):
        return osp.join(root, path) if path else root
    return path


def check_coco(key: str, ds: dict) -> None:
    """Check a ``CocoDataset`` config: its ``ann_file`` exists, is JSON with
    images and categories (and annotations, unless ``test_mode``), lists
    the categories named in ``metainfo.classes``; the image folder exists.

    Args:
        key (str): The dataset's config key, e.g.
            ``'train_dataloader.dataset'``.
        ds (dict): The dataset config.

    Raises:
        FileNotFoundError: The annotation file or image folder is missing.
        ValueError: The annotation file is empty, not JSON or lacks what
            the dataset needs.
    """
    root = ds.get('data_root', None) or None
    ann = ds.get('ann_file', None) or ''
    if ann:
        path = _join(root, ann)
        data = read_coco_json(f'{key}.ann_file', path)
        if data is not None:
            _check_coco_content(key, ds, path, data)
    prefix = ds.get('data_prefix', None) or {}
    folder = prefix.get('img', '') if isinstance(prefix, dict) else ''
    folder = _join(root, folder or '')
    if folder and not osp.isdir(folder):
        raise FileNotFoundError(
            f'{key}.data_prefix.img: image folder {folder!r} (under '
            'data_root) does not exist; fix it with --cfg-options '
            f'{key}.data_root=DIR or {key}.data_prefix.img=FOLDER/.')


def read_coco_json(key: str, path: str) -> Optional[dict]:
    """The parsed annotation file, or None for one too large to parse here
    (only its first character is checked then).

    Raises:
        FileNotFoundError, ValueError: See :func:`check_coco`.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{key}: annotation file {path!r} does not exist (relative paths '
            f'are under data_root). Expected {_COCO_LAYOUT}. Fix it with '
            f'--cfg-options {key}=FILE (or the data_root).')
    size = osp.getsize(path)
    if size == 0:
        raise ValueError(f'{key}: annotation file {path!r} is empty. '
                         f'Expected {_COCO_LAYOUT}.')
    if size > MAX_PARSED_BYTES:
        with open(path, 'rb') as f:
            head = f.read(4096).lstrip()
        if not head.startswith(b'{'):
            raise ValueError(f'{key}: {path!r} is not a JSON object; '
                             f'expected {_COCO_LAYOUT}.')
        return None
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(
            f'{key}: {path!r} is not valid JSON ({e}); a truncated download '
            f'or copy? Expected {_COCO_LAYOUT}.') from e
    if not isinstance(data, dict):
        raise ValueError(f'{key}: {path!r} holds a JSON '
                         f'{type(data).__name__}, not {_COCO_LAYOUT}.')
    return data


def _check_coco_content(key: str, ds: dict, path: str, data: dict) -> None:
    for field in ('images', 'categories'):
        if not isinstance(data.get(field), list) or not data[field]:
            raise ValueError(
                f'{key}.ann_file: {path!r} has no "{field}" (missing or '
                f'empty), so the dataset would be empty. Expected '
                f'{_COCO_LAYOUT}.')
    if not ds.get('test_mode', False) and not data.get('annotations'):
        raise ValueError(
            f'{key}.ann_file: {path!r} has no "annotations": every image '
            'would be dropped as unlabelled (filter_empty_gt) or trained as '
            'pure background. Use the file with the boxes, or set '
            f'{key}.test_mode=True for an image list without labels.')
    classes = (ds.get('metainfo', None) or {}).get('classes', None)
    if classes:
        names = {str(c.get('name')) for c in data['categories']}
        missing = [c for c in classes if str(c) not in names]
        if missing:
            raise ValueError(
                f'{key}.metainfo.classes names {missing[:10]} but the '
                f'categories of {path!r} are {sorted(names)[:20]}: '
                "CocoDataset keeps only annotations whose category name is "
                'in the class list, so these classes would have no boxes. '
                'Make the class names those of the json\'s categories.')


def check_voc_boxes(key: str, ds: dict) -> None:
    """Check an MMDetection ``VOCDataset`` config: the split file
    (``ann_file``) and the ``Annotations``/``JPEGImages`` folders of its
    year folder (``data_prefix.sub_data_root``) exist."""
    root = ds.get('data_root', None) or None
    prefix = ds.get('data_prefix', None) or {}
    year = _join(root, prefix.get('sub_data_root', '') or '')
    layout = ('a VOCdevkit: <data_root>/VOC2007/{Annotations/*.xml, '
              'JPEGImages/*.jpg, ImageSets/Main/{trainval,test}.txt}, '
              'and VOC2012 likewise')
    ann = ds.get('ann_file', None) or ''
    paths = [('ann_file', _join(root, ann), osp.isfile)] if ann else []
    paths += [('data_prefix.sub_data_root', osp.join(year, sub), osp.isdir)
              for sub in ('Annotations', 'JPEGImages')]
    for field, path, exists in paths:
        if not exists(path):
            raise FileNotFoundError(
                f'{key}.{field}: {path!r} does not exist. Expected '
                f'{layout}; point the config at it with --cfg-options '
                f'{key}.data_root=DIR.')


def check_coco_evaluators(cfg, loaders: Sequence[str]) -> None:
    """The ``ann_file`` of every ``CocoMetric`` of the evaluators that the
    run uses (``val_evaluator`` with ``val_dataloader``,
    ``test_evaluator`` with ``test_dataloader``) exists and is JSON."""
    for loader in loaders:
        key = loader.replace('_dataloader', '_evaluator')
        evaluators = cfg.get(key, None)
        if evaluators is None or loader == 'train_dataloader':
            continue
        if isinstance(evaluators, dict):
            evaluators = [evaluators]
        for i, metric in enumerate(evaluators):
            name = str((metric or {}).get('type', '')).split('.')[-1]
            ann = (metric or {}).get('ann_file', None)
            if name == 'CocoMetric' and ann and '://' not in ann:
                where = key if len(evaluators) == 1 else f'{key}.{i}'
                read_coco_json(f'{where}.ann_file', ann)
