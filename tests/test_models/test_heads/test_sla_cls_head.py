"""SLAClsHead (SLA-SD without FRSKD): its three terms against NumPy hand
computations, prediction as MMPretrain's LinearClsHead, clear errors."""
import pytest
import torch
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.structures import DataSample
from sla_reference import (aggregate, cross_entropy, joint_labels, kd, linear,
                           numpy_of)

from frskd_mm.models.heads import SLAClsHead

LABELS = [2, 0]


def _samples():
    return [DataSample().set_gt_label(y) for y in LABELS]


def _head(**kwargs):
    torch.manual_seed(0)
    head = SLAClsHead(num_classes=3, in_channels=4, **kwargs)
    with torch.no_grad():  # weights far from the init, so terms differ
        for p in head.parameters():
            p.normal_(0, 1)
    return head


def _feats():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(2, 4, generator=g), ), (torch.randn(8, 4,
                                                            generator=g), )


def test_three_terms_match_the_hand_computation():
    head = _head(sla_weight=0.5, temperature=3.0)
    feats, rotated = _feats()
    losses = head.loss(feats, _samples(), rotated_feats=rotated)
    assert set(losses) == {'loss_cls', 'loss_joint', 'loss_sla'}

    w, b = numpy_of(head.fc.weight), numpy_of(head.fc.bias)
    wj, bj = numpy_of(head.joint_fc.weight), numpy_of(head.joint_fc.bias)
    single = linear(numpy_of(feats[0]), w, b)
    joint = linear(numpy_of(rotated[0]), wj, bj)
    expected = dict(
        loss_cls=cross_entropy(single, LABELS),
        loss_joint=cross_entropy(joint, joint_labels(LABELS)),
        loss_sla=0.5 * kd(single, aggregate(joint), 3.0))
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(value, rel=1e-5), key
    assert expected['loss_sla'] > 0


def test_sla_term_trains_the_single_classifier_only():
    head = _head()
    feats, rotated = _feats()
    losses = head.loss(feats, _samples(), rotated_feats=rotated)
    grads = torch.autograd.grad(
        losses['loss_sla'],
        [head.fc.weight, head.joint_fc.weight, head.joint_fc.bias],
        allow_unused=True)
    assert torch.count_nonzero(grads[0]) > 0
    assert all(g is None or torch.count_nonzero(g) == 0 for g in grads[1:])


def test_prediction_is_mmpretrains_linear_head():
    head = _head()
    plain = LinearClsHead(num_classes=3, in_channels=4)
    plain.fc.load_state_dict(head.fc.state_dict())
    feats, _ = _feats()
    torch.testing.assert_close(head(feats), plain(feats))
    for a, b in zip(head.predict(feats), plain.predict(feats)):
        torch.testing.assert_close(a.pred_score, b.pred_score)


def test_without_rotated_features_names_the_classifier():
    feats, _ = _feats()
    with pytest.raises(TypeError, match="model.type='SLAImageClassifier'"):
        _head().loss(feats, _samples())


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match=r'model\.head\.sla_weight'):
        SLAClsHead(num_classes=3, in_channels=4, sla_weight=-1.0)
    with pytest.raises(ValueError, match=r'model\.head\.temperature'):
        SLAClsHead(num_classes=3, in_channels=4, temperature=0.0)
