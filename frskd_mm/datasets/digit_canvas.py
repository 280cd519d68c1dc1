"""Digit canvases: the README demo's segmentation data (MMSegmentation).

This module imports MMSegmentation; frskd_mm imports it only when MMSeg is
installed (see ``frskd_mm/datasets/__init__.py``).
"""
import os.path as osp

from mmseg.datasets import BaseSegDataset

from frskd_mm.registry import DATASETS

# Black background, then ten well separated colours for the digits 0..9.
PALETTE = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25],
           [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
           [240, 50, 230], [210, 245, 60], [250, 190, 212]]


@DATASETS.register_module()
class DigitCanvasDataset(BaseSegDataset):
    """Canvases of scikit-learn digits with per-pixel digit labels.

    Written by ``tools/dataset_converters/digit_canvas_to_seg.py`` in
    MMSegmentation's folder format::

        <data_root>/img_dir/{train,val}/<index>.png   RGB canvases
        <data_root>/ann_dir/{train,val}/<index>.png   uint8 labels

    Label 0 is background and label ``d + 1`` the ink of digit ``d``
    (classes ``background``, ``0`` .. ``9``; 255 would be ignored). When
    the image folder is absent a ``FileNotFoundError`` says how to create
    it.

    Args:
        img_suffix (str): Suffix of the images. Defaults to ``'.png'``.
        seg_map_suffix (str): Suffix of the label maps. Defaults to
            ``'.png'``.
        **kwargs: Other arguments of
            :class:`mmseg.datasets.BaseSegDataset` (``data_root``,
            ``data_prefix=dict(img_path=..., seg_map_path=...)``,
            ``pipeline``, ...).
    """

    METAINFO = dict(
        classes=('background', '0', '1', '2', '3', '4', '5', '6', '7', '8',
                 '9'),
        palette=PALETTE)

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self):
        img_dir = self.data_prefix.get('img_path', '')
        if not self.ann_file and not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'DigitCanvasDataset: image folder {img_dir!r} does not '
                'exist. Write the digit canvases with `python tools/'
                'dataset_converters/digit_canvas_to_seg.py '
                f'{self.data_root or "data/digit_canvas"}`, or point '
                'data_root at them with --cfg-options '
                'train_dataloader.dataset.data_root=... '
                'val_dataloader.dataset.data_root=... '
                'test_dataloader.dataset.data_root=...')
        return super().load_data_list()
