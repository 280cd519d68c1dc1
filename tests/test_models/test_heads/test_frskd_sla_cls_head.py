"""FRSKDSLAClsHead: its eight terms against NumPy hand computations on small
made-up tensors, the checks against the self-teacher, clear errors."""

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample
from sla_reference import (aggregate, attention_transfer, cross_entropy,
                           joint_labels, kd, linear, numpy_of, pool)

from frskd_mm.models.heads import FRSKDSLAClsHead
from frskd_mm.models.necks import FRSKDNeck, SelfTeacherFeatures

LABELS = [1, 2]
ALPHA, BETA, T, SLA_WEIGHT = 2.0, 100.0, 4.0, 0.5


def _head(**kwargs):
    torch.manual_seed(0)
    head = FRSKDSLAClsHead(
        num_classes=3,
        in_channels=4,
        teacher_in_channels=8,
        alpha=ALPHA,
        beta=BETA,
        temperature=T,
        sla_weight=SLA_WEIGHT,
        **kwargs)
    with torch.no_grad():  # weights far from the init, so terms differ
        for p in head.parameters():
            p.normal_(0, 1)
    head.distill.stop_target_grad = True  # what FRSKDHook switches on
    return head


def _features(n, g):
    """F_1 (n, 2, 4, 4), F_2 (n, 4, 2, 2); T_1 (n, 4, 4, 4), T_2 (n, 8, 2,
    2); teacher logits (n, 3)."""
    student = (torch.randn(n, 2, 4, 4,
                           generator=g), torch.randn(n, 4, 2, 2, generator=g))
    refined = (torch.randn(n, 4, 4, 4,
                           generator=g), torch.randn(n, 8, 2, 2, generator=g))
    return SelfTeacherFeatures(student, refined,
                               torch.randn(n, 3, generator=g))


def _inputs():
    g = torch.Generator().manual_seed(0)
    feats, rotated = _features(2, g), _features(8, g)
    samples = [DataSample().set_gt_label(y) for y in LABELS]
    return feats, rotated, samples


def test_eight_terms_match_the_hand_computation():
    head = _head()
    feats, rotated, samples = _inputs()
    losses = head.loss(feats, samples, rotated_feats=rotated)
    assert set(losses) == {
        'loss_cls', 'loss_teacher', 'loss_joint', 'loss_teacher_joint',
        'loss_sla', 'loss_teacher_sla', 'loss_kd', 'loss_att'
    }

    def weights(fc):
        return numpy_of(fc.weight), numpy_of(fc.bias)

    f = [numpy_of(x) for x in feats]
    t = [numpy_of(x) for x in feats.refined]
    rf = [numpy_of(x) for x in rotated]
    rt = [numpy_of(x) for x in rotated.refined]
    student = linear(pool(f[-1]), *weights(head.fc))
    teacher = numpy_of(feats.teacher_logits)
    joint = linear(pool(rf[-1]), *weights(head.joint_fc))
    teacher_joint = linear(pool(rt[-1]), *weights(head.teacher_joint_fc))
    agg, teacher_agg = aggregate(joint), aggregate(teacher_joint)
    # The authors' train loop distils on [plain; aggregated] logits and on
    # [plain; rotated] features.
    kd_student = np.concatenate([student, agg])
    kd_teacher = np.concatenate([teacher, teacher_agg])
    att = sum(
        attention_transfer(
            np.concatenate([f[i], rf[i]]), np.concatenate([t[i], rt[i]]))
        for i in range(2))
    expected = dict(
        loss_cls=cross_entropy(student, LABELS),
        loss_teacher=cross_entropy(teacher, LABELS),
        loss_joint=cross_entropy(joint, joint_labels(LABELS)),
        loss_teacher_joint=cross_entropy(teacher_joint, joint_labels(LABELS)),
        loss_sla=SLA_WEIGHT * kd(student, agg, T),
        loss_teacher_sla=SLA_WEIGHT * kd(teacher, teacher_agg, T),
        loss_kd=ALPHA * kd(kd_student, kd_teacher, T),
        loss_att=BETA * att)
    for key, value in expected.items():
        assert value > 0, key
        assert losses[key].item() == pytest.approx(value, rel=1e-5), key


def test_the_hook_schedule_scales_kd_and_att_only():
    head = _head()
    feats, rotated, samples = _inputs()
    full = head.loss(feats, samples, rotated_feats=rotated)
    head.distill.scale = 0.25
    scaled = head.loss(feats, samples, rotated_feats=rotated)
    for key in full:
        factor = 0.25 if key in ('loss_kd', 'loss_att') else 1.0
        torch.testing.assert_close(scaled[key], factor * full[key])


def test_sla_targets_and_distillation_targets_get_no_gradient():
    head = _head()
    feats, rotated, samples = _inputs()
    for group in (feats, rotated):
        for x in (*group, *group.refined, group.teacher_logits):
            x.requires_grad_(True)
    losses = head.loss(feats, samples, rotated_feats=rotated)
    joint_fcs = [
        *head.joint_fc.parameters(), *head.teacher_joint_fc.parameters()
    ]
    for key in ('loss_sla', 'loss_teacher_sla'):
        grads = torch.autograd.grad(
            losses[key], joint_fcs, retain_graph=True, allow_unused=True)
        assert all(g is None or torch.count_nonzero(g) == 0 for g in grads)
    teacher_side = [
        feats.teacher_logits, *feats.refined, *rotated.refined,
        *head.teacher_joint_fc.parameters()
    ]
    for key in ('loss_kd', 'loss_att'):
        grads = torch.autograd.grad(
            losses[key], teacher_side, retain_graph=True, allow_unused=True)
        assert all(g is None or torch.count_nonzero(g) == 0 for g in grads)
    # The teacher's own SLA term trains its single logits.
    grad, = torch.autograd.grad(
        losses['loss_teacher_sla'], [feats.teacher_logits], retain_graph=True)
    assert torch.count_nonzero(grad) > 0


def _neck(width=2, in_channels=(2, 4), num_classes=3):
    return FRSKDNeck(
        list(in_channels), width=width, depth=1, num_classes=num_classes)


def test_teacher_in_channels_are_checked_against_the_neck():
    head = _head()
    head.check_neck(_neck())
    with pytest.raises(
            ValueError,
            match=r'model\.head\.teacher_in_channels=8 but .* 12 channels.*'
            r'Set model\.head\.teacher_in_channels=12'):
        head.check_neck(_neck(width=3))
    with pytest.raises(ValueError, match=r'model\.neck\.num_classes=5'):
        head.check_neck(_neck(num_classes=5))


def test_without_self_teacher_outputs_names_the_model_keys():
    head = _head()
    feats, rotated, samples = _inputs()
    with pytest.raises(TypeError, match=r'rotated_feats'):
        head.loss(feats, samples)
    with pytest.raises(TypeError, match=r"type='FRSKDNeck'.*as feats"):
        head.loss(tuple(feats), samples, rotated_feats=rotated)


def test_soft_targets_are_refused():
    head = _head()
    feats, rotated, _ = _inputs()
    soft = [DataSample().set_gt_score(torch.tensor([0.5, 0.5, 0.0]))] * 2
    with pytest.raises(ValueError, match=r'model\.train_cfg\.augments'):
        head.loss(feats, soft, rotated_feats=rotated)


def test_prediction_is_the_student_classifier():
    head = _head()
    feats, _, _ = _inputs()
    expected = head.fc(feats[-1].mean(dim=(2, 3)))
    torch.testing.assert_close(head(tuple(feats)), expected)


def test_a_feature_loss_on_pre_activations_is_refused(monkeypatch):
    from frskd_mm.models.losses import AttentionTransferLoss
    monkeypatch.setattr(
        AttentionTransferLoss, 'needs_preact', True, raising=False)
    with pytest.raises(ValueError, match=r'model\.head\.feature_loss'):
        _head()
