"""FRSKDSegHead's ``loss_teacher``: MMSeg's CrossEntropyLoss
(``avg_non_ignore=True``) with the student's ``ignore_index``."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.models.losses import CrossEntropyLoss
from mmseg.structures import SegDataSample

import frskd_mm  # noqa: F401
from frskd_mm.models.heads import FRSKDSegHead


def _head(ignore_index, teacher_loss_weight=0.7):
    student = dict(
        type='FCNHead',
        in_channels=4,
        channels=4,
        num_convs=0,
        concat_input=False,
        num_classes=3,
        dropout_ratio=0.0,
        ignore_index=ignore_index)
    with DefaultScope.overwrite_default_scope('mmseg'):
        head = FRSKDSegHead(
            student=student,
            teacher=dict(in_channels=4, channels=4),
            teacher_loss_weight=teacher_loss_weight)
    head.distill.stop_target_grad = True  # what FRSKDHook switches on
    return head


def _teacher_loss(head, t, label):
    samples = []
    for lbl in label:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=lbl[None].long())
        samples.append(sample)
    feats = [torch.rand(2, 2, 3, 3), torch.rand(2, 3, 2, 2)]
    refined = [torch.rand(2, 5, 3, 3), torch.rand(2, 6, 2, 2)]
    return head.distill_by_feat(
        torch.randn_like(t), t, feats, refined, samples)['loss_teacher']


def test_teacher_loss_is_mmseg_cross_entropy_over_valid_pixels():
    head = _head(ignore_index=255)
    assert isinstance(head.teacher_loss, CrossEntropyLoss)
    assert head.teacher_loss.avg_non_ignore
    assert head.teacher_loss.loss_weight == 0.7
    g = torch.Generator().manual_seed(0)
    t = torch.randn(2, 3, 3, 3, generator=g)
    label = torch.randint(0, 3, (2, 3, 3), generator=g)
    label[0, 0] = 255
    expected = 0.7 * F.cross_entropy(t, label, ignore_index=255)
    assert _teacher_loss(head, t, label).item() == pytest.approx(
        expected.item(), rel=1e-6)


def test_without_ignore_index_every_pixel_counts():
    head = _head(ignore_index=None, teacher_loss_weight=1.0)
    assert head.ignore_index is None
    g = torch.Generator().manual_seed(1)
    t = torch.randn(2, 3, 3, 3, generator=g)
    label = torch.randint(0, 3, (2, 3, 3), generator=g)
    loss = _teacher_loss(head, t, label)
    assert loss.item() == pytest.approx(
        F.cross_entropy(t, label).item(), rel=1e-6)


def test_binary_teacher_reads_zero_and_z_as_two_class_logits():
    student = dict(
        type='FCNHead',
        in_channels=4,
        channels=4,
        num_convs=0,
        concat_input=False,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        dropout_ratio=0.0,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    with DefaultScope.overwrite_default_scope('mmseg'):
        head = FRSKDSegHead(
            student=student, teacher=dict(in_channels=4, channels=4))
    head.distill.stop_target_grad = True
    g = torch.Generator().manual_seed(2)
    z = torch.randn(2, 1, 3, 3, generator=g)
    label = torch.randint(0, 2, (2, 3, 3), generator=g)
    label[1, 1] = 255
    valid = label != 255
    expected = F.binary_cross_entropy_with_logits(z[:, 0][valid],
                                                  label[valid].float())
    assert _teacher_loss(head, z, label).item() == pytest.approx(
        expected.item(), rel=1e-5)
