"""Resize of a segmentation test image, with the choice of the label size
its prediction is scored at."""
from typing import Optional, Tuple

from mmcv.transforms import BaseTransform, Resize

from frskd_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class EvalResize(BaseTransform):
    """Resize the image to ``scale`` and score the prediction either on the
    original label or on the label resized with the image.

    MMSeg's segmentors resize their logits back to ``ori_shape`` and its
    ``IoUMetric`` compares them with the label as loaded, so with
    ``Resize`` before ``LoadAnnotations`` a prediction is scored at the
    original size (``label_size='original'``, MMSeg's usual protocol).
    The FRSKD authors score at the network's size: they resize the label
    with the image (nearest) and compare it with the logits upsampled to
    that size (``segmentation/utils/dataset.py``, ``FixedResize``;
    ``label_size='resized'``). Then this transform also resizes
    ``gt_seg_map`` (nearest, as mmcv's ``Resize`` does) and sets
    ``ori_shape`` to the resized shape, so that the segmentor's prediction
    stays at that size. Put ``LoadAnnotations`` before this transform.
    Without a label to score (inference on image files), ``ori_shape`` is
    kept and the prediction returns to the image's size as usual.

    Required keys: img, (gt_seg_map, seg_map_path).
    Modified keys: img, img_shape, scale_factor, keep_ratio, (gt_seg_map,
    ori_shape).

    Args:
        scale (tuple[int, int]): Target ``(width, height)``, as mmcv's
            ``Resize``.
        label_size (str): ``'original'`` or ``'resized'``, see above.
            Defaults to ``'original'``.
        keep_ratio (bool): As mmcv's ``Resize``. Defaults to False.
        backend (str): ``'cv2'`` or ``'pillow'``. Defaults to ``'cv2'``.
        interpolation (str): The image's interpolation. Defaults to
            ``'bilinear'``.
    """

    LABEL_SIZES = ('original', 'resized')

    def __init__(self,
                 scale: Tuple[int, int],
                 label_size: str = 'original',
                 keep_ratio: bool = False,
                 backend: str = 'cv2',
                 interpolation: str = 'bilinear') -> None:
        if label_size not in self.LABEL_SIZES:
            raise ValueError(
                f'EvalResize.label_size must be one of {self.LABEL_SIZES}, '
                f'got {label_size!r} (set it in the test pipeline, e.g. '
                '--cfg-options test_dataloader.dataset.pipeline.2.'
                "label_size='original').")
        self.label_size = label_size
        self.resize = Resize(
            scale=scale,
            keep_ratio=keep_ratio,
            backend=backend,
            interpolation=interpolation)

    def transform(self, results: dict) -> Optional[dict]:
        """Resize ``results`` (see the class docstring)."""
        if self.label_size == 'original':
            label = results.pop('gt_seg_map', None)
            results = self.resize(results)
            if label is not None:
                results['gt_seg_map'] = label
            return results
        if results.get('seg_map_path') is not None and \
                results.get('gt_seg_map') is None:
            raise KeyError(
                "EvalResize(label_size='resized') resizes the label with the "
                'image, but none is loaded yet: put LoadAnnotations before '
                'EvalResize in the test pipeline.')
        results = self.resize(results)
        if results.get('gt_seg_map') is not None:
            results['ori_shape'] = results['img_shape']
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.resize.scale}, '
                f'label_size={self.label_size!r})')
