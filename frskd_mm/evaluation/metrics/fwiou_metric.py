"""MMSeg's IoU metric plus the frequency-weighted IoU, as the FRSKD
authors' segmentation evaluator computes it."""
from typing import Dict

import numpy as np
from mmseg.evaluation import IoUMetric

from frskd_mm.registry import METRICS


@METRICS.register_module()
class FWIoUMetric(IoUMetric):
    """MMSeg's ``IoUMetric`` that also reports ``fwIoU``.

    The frequency-weighted IoU weights each class's IoU by its share of the
    labelled pixels of the whole evaluation set (ignored pixels excluded):

    ``fwIoU = sum_c (n_c / sum_k n_k) * IoU_c`` over the classes with
    ``n_c > 0``, where ``n_c`` counts the pixels labelled c and ``IoU_c =
    TP_c / (TP_c + FP_c + FN_c)`` over the set's accumulated counts.

    This is ``Frequency_Weighted_Intersection_over_Union`` of the authors'
    ``segmentation/utils/metric.py`` (MingiJi/FRSKD), in percent like
    MMSeg's other metrics, and is logged beside them, e.g.::

        val_evaluator = dict(type='FWIoUMetric', iou_metrics=['mIoU'])

    gives ``aAcc``, ``mIoU`` and ``fwIoU``.

    Args:
        **kwargs: Arguments of MMSeg's ``IoUMetric`` (``iou_metrics``,
            ``ignore_index``, ``nan_to_num``, ...).
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """MMSeg's metrics of ``results`` plus ``fwIoU``.

        Args:
            results (list): Per image, the (intersection, union, predicted,
                labelled) pixel counts per class from ``process``.

        Returns:
            dict[str, float]: ``IoUMetric``'s values and ``fwIoU``.
        """
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        intersect, union, _, label = (
            sum(column).double() for column in zip(*results))
        present = label > 0
        freq = label[present] / label.sum()
        fw = (freq * intersect[present] / union[present]).sum()
        metrics['fwIoU'] = float(np.round(fw.item() * 100, 2))
        return metrics
