import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.structures import DataSample

from frskd_mm.models.heads import FRSKDClsHead
from frskd_mm.models.losses import attention_transfer, kd_kl_div
from frskd_mm.models.necks import SelfTeacherFeatures


def _head(**kwargs):
    head = FRSKDClsHead(num_classes=3, in_channels=4, **kwargs)
    head.distill.stop_target_grad = True  # what FRSKDHook switches on
    return head


def _feats():
    g = torch.Generator().manual_seed(0)
    student = (torch.rand(2, 2, 4, 4,
                          generator=g), torch.rand(2, 4, 2, 2, generator=g))
    refined = (torch.rand(2, 4, 4, 4,
                          generator=g), torch.rand(2, 8, 2, 2, generator=g))
    return SelfTeacherFeatures(student, refined,
                               torch.randn(2, 3, generator=g))


def test_four_loss_terms_match_their_formulas():
    head = _head(alpha=2.0, beta=100.0, temperature=4.0)
    feats = _feats()
    samples = [DataSample().set_gt_label(2), DataSample().set_gt_label(0)]
    losses = head.loss(feats, samples)
    assert set(losses) == {'loss_cls', 'loss_teacher', 'loss_kd', 'loss_att'}
    target = torch.tensor([2, 0])
    student = head.fc(feats[-1].mean(dim=(2, 3)))
    torch.testing.assert_close(losses['loss_cls'],
                               F.cross_entropy(student, target))
    torch.testing.assert_close(losses['loss_teacher'],
                               F.cross_entropy(feats.teacher_logits, target))
    torch.testing.assert_close(
        losses['loss_kd'], 2.0 * kd_kl_div(student, feats.teacher_logits, 4.))
    at = sum(attention_transfer(s, t) for s, t in zip(feats, feats.refined))
    torch.testing.assert_close(losses['loss_att'], 100.0 * at)


def test_soft_targets_from_batch_augments():
    head = _head(loss=dict(type='CrossEntropyLoss', use_soft=True))
    feats = _feats()
    score = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.2, 0.8]])
    samples = [DataSample().set_gt_score(s) for s in score]
    losses = head.loss(feats, samples)
    expected = -(score * F.log_softmax(feats.teacher_logits, 1)).sum(1).mean()
    torch.testing.assert_close(losses['loss_teacher'], expected)


def test_training_accuracy_with_hard_labels_and_its_soft_label_error():
    head = _head(cal_acc=True, topk=(1, 2))
    feats = _feats()
    samples = [DataSample().set_gt_label(2), DataSample().set_gt_label(0)]
    losses = head.loss(feats, samples)
    student = head.fc(feats[-1].mean(dim=(2, 3)))
    top1 = (student.argmax(1) == torch.tensor([2, 0])).float().mean() * 100
    acc = torch.as_tensor(losses['accuracy_top-1']).reshape(())
    torch.testing.assert_close(acc, top1)
    assert 'accuracy_top-2' in losses
    soft = [DataSample().set_gt_score(torch.tensor([0.5, 0.5, 0.0]))] * 2
    with pytest.raises(ValueError, match=r'model\.head\.cal_acc=False'):
        head.loss(feats, soft)


def test_prediction_equals_mmpretrain_linear_head():
    head = _head()
    plain = LinearClsHead(num_classes=3, in_channels=4)
    plain.fc.load_state_dict(head.fc.state_dict())
    feats = _feats()
    pooled = tuple(f.mean(dim=(2, 3)) for f in feats)  # GlobalAveragePooling
    ours = head.predict(tuple(feats))
    theirs = plain.predict(pooled)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.pred_score, b.pred_score)


def test_training_without_the_neck_outputs_is_a_clear_error():
    head = _head()
    samples = [DataSample().set_gt_label(0)] * 2
    with pytest.raises(TypeError, match='FRSKDNeck'):
        head.loss(tuple(_feats()), samples)
