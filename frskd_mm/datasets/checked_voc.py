"""Pascal VOC 2012 (+ SBD aug) that says what is missing (MMSegmentation).

This module imports MMSegmentation; frskd_mm imports it only when MMSeg is
installed (see ``frskd_mm/datasets/__init__.py``).
"""
import os.path as osp
from typing import Optional

from mmseg.datasets import PascalVOCDataset
from frskd_mm.registry import DATASETS

_AUG_HINT = (
    'SegmentationClassAug and ImageSets/Segmentation/aug.txt come from the '
    'SBD augmentation: download SBD (benchmark.tgz) and run '
    "MMSegmentation's tools/dataset_converters/voc_aug.py "
    '<VOCdevkit> <benchmark_RELEASE> (see MMSegmentation\'s "Prepare '
    'datasets", Pascal VOC). ')


def _under(root: Optional[str], path: str) -> str:
    """``path`` joined to ``root`` as MMEngine's BaseDataset joins them."""
    if root and path and not osp.isabs(path):
        return osp.join(root, path)
    return path


@DATASETS.register_module()
class CheckedPascalVOCDataset(PascalVOCDataset):
    """MMSegmentation's ``PascalVOCDataset`` with clear missing-data errors.

    Reads exactly what ``PascalVOCDataset`` reads (the split file
    ``ann_file`` lists image names; images ``<img_path>/<name>.jpg``, label
    maps ``<seg_map_path>/<name>.png`` with 255 for ignored pixels). When
    ``data_root``, the image or label folder or the split file is absent on
    local disk it raises a ``FileNotFoundError`` naming the missing path,
    the layout expected and how to fix it, where ``PascalVOCDataset``
    fails with a bare assertion.

    Args:
        ann_file (str): The split file, relative to ``data_root``, e.g.
            ``'ImageSets/Segmentation/train.txt'``.
        **kwargs: Other arguments of
            :class:`mmseg.datasets.PascalVOCDataset`.
    """

    def __init__(self, ann_file: str, **kwargs) -> None:
        if kwargs.get('backend_args') is None:
            self._check_layout(ann_file, kwargs.get('data_root'),
                               kwargs.get('data_prefix') or {})
        super().__init__(ann_file=ann_file, **kwargs)

    @staticmethod
    def _check_layout(ann_file: str, data_root: Optional[str],
                      data_prefix: dict) -> None:
        img_dir = _under(data_root, data_prefix.get('img_path', ''))
        seg_dir = _under(data_root, data_prefix.get('seg_map_path', ''))
        split = _under(data_root, ann_file)
        missing = []
        if data_root and not osp.isdir(data_root):
            missing.append(('data_root', data_root))
        else:
            for name, path, exists in (('image folder', img_dir, osp.isdir),
                                       ('label folder', seg_dir, osp.isdir),
                                       ('split file', split, osp.isfile)):
                if path and not exists(path):
                    missing.append((name, path))
        if not missing:
            return
        what = ', '.join(f'{name} {path!r}' for name, path in missing)
        verb = 'does' if len(missing) == 1 else 'do'
        hint = _AUG_HINT if 'Aug' in seg_dir or 'aug' in osp.basename(
            split) else ''
        raise FileNotFoundError(
            f'Pascal VOC data not found: {what} {verb} not exist. Expected '
            'the VOC2012 layout <data_root>/JPEGImages/*.jpg, '
            '<data_root>/SegmentationClass/*.png (labels; with SBD aug also '
            '<data_root>/SegmentationClassAug/*.png) and '
            '<data_root>/ImageSets/Segmentation/{train,val,aug}.txt. '
            f'{hint}Prepare it under data/VOCdevkit/VOC2012 or point the '
            'configs at it with --cfg-options '
            'train_dataloader.dataset.datasets.0.data_root=DIR '
            'train_dataloader.dataset.datasets.1.data_root=DIR '
            'val_dataloader.dataset.data_root=DIR '
            'test_dataloader.dataset.data_root=DIR (VOC2012 + aug configs).')
