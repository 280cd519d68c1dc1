"""FWIoUMetric: MMSeg's IoU metric plus the authors' frequency-weighted
IoU, checked on hand-made predictions."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample

from frskd_mm.evaluation.metrics import FWIoUMetric


def _sample(pred, label):
    sample = SegDataSample(
        pred_sem_seg=PixelData(data=torch.tensor(pred)[None]),
        gt_sem_seg=PixelData(data=torch.tensor(label)[None]))
    return sample.to_dict()


def _authors_fwiou(pairs, num_classes):
    """The authors' EvaluatorSeg (segmentation/utils/metric.py), restated:
    one confusion matrix over labels in [0, C), rows = label."""
    confusion = np.zeros((num_classes, num_classes))
    for pred, label in pairs:
        pred, label = np.asarray(pred), np.asarray(label)
        mask = (label >= 0) & (label < num_classes)
        confusion += np.bincount(
            num_classes * label[mask] + pred[mask],
            minlength=num_classes**2).reshape(num_classes, num_classes)
    freq = confusion.sum(1) / confusion.sum()
    iou = np.diag(confusion) / (
        confusion.sum(1) + confusion.sum(0) - np.diag(confusion))
    return (freq[freq > 0] * iou[freq > 0]).sum()


def test_fwiou_by_hand_beside_mmsegs_metrics():
    # Class 2 is never labelled (only predicted): it has no weight.
    pairs = [([[0, 0, 1], [1, 2, 1]], [[0, 1, 1], [1, 1, 255]]),
             ([[0, 0], [0, 1]], [[0, 0], [255, 0]])]
    # Labelled pixels (255 ignored): class 0: 1 + 3, class 1: 4 + 0.
    # Class 0: 3 TP, 1 FP, 1 FN -> IoU 3/5; class 1: 2 TP, 1 FP (the pixel
    # predicted 1 under 255 does not count), 2 FN -> 2/5.
    expected = 4 / 8 * 3 / 5 + 4 / 8 * 2 / 5
    assert _authors_fwiou(pairs, 3) == pytest.approx(expected)
    meta = dict(classes=('a', 'b', 'c'))
    metric, plain = FWIoUMetric(), IoUMetric()
    for m in (metric, plain):
        m.dataset_meta = meta
        m.process({}, [_sample(p, t) for p, t in pairs])
    got = metric.evaluate(2)
    assert got['fwIoU'] == round(100 * expected, 2) == 50.0
    assert {k: v for k, v in got.items() if k != 'fwIoU'} == plain.evaluate(2)
