"""The Pascal VOC part of :func:`~frskd_mm.utils.dataset_checks.
check_dataset_configs`: MMSeg's ``PascalVOCDataset`` configs whose data
is missing, with the layout and the fix.

Two layouts are known, told apart by the configs' ``data_prefix``:

- one year folder as ``data_root`` (MMSeg's VOC2012 + SBD aug configs):
  ``data_prefix.img_path='JPEGImages'``;
- the VOCdevkit folder as ``data_root`` with a year sub-folder per dataset
  (the paper's VOC2007 + VOC2012 configs, ``configs/_base_/datasets/
  voc0712_512x512.py``): ``data_prefix.img_path='VOC2007/JPEGImages'``.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

_VOC_AUG_HINT = (
    'SegmentationClassAug and ImageSets/Segmentation/aug.txt come from the '
    'SBD augmentation: download SBD (benchmark.tgz) and run '
    "MMSegmentation's tools/dataset_converters/voc_aug.py "
    '<VOCdevkit> <benchmark_RELEASE> (see MMSegmentation\'s "Prepare '
    'datasets", Pascal VOC). ')
_VOC2007_TEST_HINT = (
    "VOC2007's test split (ImageSets/Segmentation/test.txt with its images "
    'and labels) is not in the VOC2007 trainval archive but in the VOC2007 '
    'test archive (VOCtest_06-Nov-2007.tar), which extracts into the same '
    'VOCdevkit/VOC2007. ')


def _join(root: Optional[str], path: str) -> str:
    """``path`` joined to ``root`` as MMEngine's ``BaseDataset`` does."""
    if root and not osp.isabs(path):
        return osp.join(root, path) if path else root
    return path


def _year_folder(ds: dict) -> str:
    """The folder between ``data_root`` and ``JPEGImages`` (``'VOC2007'``
    in the VOCdevkit layout; ``''`` when ``data_root`` is the year)."""
    prefix = ds.get('data_prefix', None) or {}
    return osp.dirname((prefix.get('img_path', '') or '').rstrip('/'))


def _label_folder(ds: dict) -> str:
    """The label folder's name (``'SegmentationClass'``)."""
    prefix = ds.get('data_prefix', None) or {}
    return osp.basename(prefix.get('seg_map_path', '') or '')


def _devkit_layout(voc: Sequence[Tuple[str, dict]]) -> str:
    """The VOCdevkit layout that the VOC datasets ``voc`` read, per year
    folder: images, labels and split files."""
    years: Dict[str, List[str]] = {}
    for _, ds in voc:
        year = _year_folder(ds)
        split = osp.basename(ds.get('ann_file', None) or '')
        splits = years.setdefault(year, [])
        if split and split not in splits:
            splits.append(split)
    parts = []
    for year, splits in years.items():
        folder = f'<data_root>/{year}' if year else '<data_root>'
        files = [f'{folder}/JPEGImages/*.jpg']
        labels = {
            _label_folder(ds)
            for _, ds in voc if _year_folder(ds) == year
        }
        files += [
            f'{folder}/{label}/*.png' for label in sorted(labels) if label
        ]
        listed = ','.join(splits)
        if len(splits) > 1:
            listed = '{' + listed + '}'
        parts.append(', '.join(files) +
                     f' and {folder}/ImageSets/Segmentation/{listed}')
    return '; '.join(parts)


def check_voc(key: str, ds: dict, voc: Sequence[Tuple[str, dict]]) -> None:
    """Raise ``FileNotFoundError`` if the folders or split file of the VOC
    dataset config ``ds`` (at config key ``key``) are missing.

    Args:
        key (str): The dataset's config key, e.g.
            ``'train_dataloader.dataset.datasets.1'``.
        ds (dict): Its config.
        voc (Sequence[tuple[str, dict]]): ``(key, config)`` of every VOC
            dataset of the config: the message gives their layout and the
            ``--cfg-options`` that point all of them at another folder.
    """
    root = ds.get('data_root', None) or None
    prefix = ds.get('data_prefix', None) or {}
    ann_file = ds.get('ann_file', None) or ''
    img_dir = _join(root, prefix.get('img_path', '') or '')
    seg_dir = _join(root, prefix.get('seg_map_path', '') or '')
    split = _join(root, ann_file) if ann_file else ''
    missing = []
    if root and not osp.isdir(root):
        missing.append(('data_root', root, 'data_root'))
    else:
        for name, path, exists, sub in (('image folder', img_dir, osp.isdir,
                                         'data_prefix.img_path'),
                                        ('label folder', seg_dir, osp.isdir,
                                         'data_prefix.seg_map_path'),
                                        ('split file', split, osp.isfile,
                                         'ann_file')):
            if path and not exists(path):
                missing.append((name, path, sub))
    if not missing:
        return
    what = ', '.join(f'{name} {path!r} ({key}.{sub})'
                     for name, path, sub in missing)
    verb = 'does' if len(missing) == 1 else 'do'
    hint = _VOC_AUG_HINT if 'aug' in seg_dir.lower() or 'aug' in \
        osp.basename(split).lower() else ''
    keys = list(dict.fromkeys(k for k, _ in voc)) or [key]
    options = ' '.join(f'{k}.data_root=DIR' for k in keys)
    if _year_folder(ds):
        if _year_folder(ds) == 'VOC2007' and \
                osp.basename(ann_file) == 'test.txt' and \
                missing[0][0] != 'data_root':
            hint += _VOC2007_TEST_HINT
        layout = ('the VOCdevkit layout (data_root = the VOCdevkit folder) '
                  f'{_devkit_layout(voc or [(key, ds)])}. ')
        where = 'data/VOCdevkit'
    else:
        layout = (
            'the VOC2012 layout <data_root>/JPEGImages/*.jpg, '
            '<data_root>/SegmentationClass/*.png (labels; with SBD aug also '
            '<data_root>/SegmentationClassAug/*.png) and '
            '<data_root>/ImageSets/Segmentation/{train,val,aug}.txt. ')
        where = 'data/VOCdevkit/VOC2012'
    raise FileNotFoundError(
        f'{key}: Pascal VOC data not found: {what} {verb} not exist. '
        f'Expected {layout}{hint}Prepare it under {where} or point the '
        f'config at it with --cfg-options {options}.')
