"""The OD feature loss (Heo et al., ICCV 2019) as the FRSKD authors use it:
values against hand computations, margins, pre-activation features and
gradient flow."""
import math
import types

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from frskd_mm.engine.hooks import FRSKDHook
from frskd_mm.models.backbones import WideResNetCIFAR
from frskd_mm.models.losses import OverhaulLoss, bn_margin
from frskd_mm.models.necks.bifpn_layer import BiFPNLayer
from frskd_mm.models.preact import PreActRecorder


def _hand_margin(gamma, beta):
    s, m = abs(gamma), beta
    cdf = 0.5 * (1 + math.erf(-m / s / math.sqrt(2)))
    if cdf > 0.001:
        pdf = math.exp(-(m / s)**2 / 2) / math.sqrt(2 * math.pi)
        return -s * pdf / cdf + m
    return -3 * s


def test_margin_from_the_bn_as_heo_et_al():
    bn = nn.BatchNorm2d(4)
    gammas, betas = [1.0, -0.5, 2.0, 0.1], [0.0, 0.3, -1.0, 0.5]
    bn.weight.data = torch.tensor(gammas)
    bn.bias.data = torch.tensor(betas)
    expected = [_hand_margin(g, b) for g, b in zip(gammas, betas)]
    # An untrained BN (1, 0): -sqrt(2 / pi); beta = 5 gamma: the -3s branch.
    assert expected[0] == pytest.approx(-math.sqrt(2 / math.pi))
    assert expected[3] == pytest.approx(-0.3)
    assert bn_margin(bn).tolist() == pytest.approx(expected, rel=1e-6)


def _loss(levels=((2, 3), (3, 2))):
    loss = OverhaulLoss([s for s, _ in levels], [t for _, t in levels])
    torch.manual_seed(0)
    for conn in loss.connectors:
        conn.conv.weight.data.normal_()
    norms = []
    for _, t in levels:
        bn = nn.BatchNorm2d(t)
        bn.weight.data.uniform_(0.5, 2.0)
        bn.bias.data.uniform_(-1.0, 1.0)
        norms.append(bn)
    loss.init_margins(norms)
    return loss, norms


def test_value_against_a_hand_computation(device):
    loss, norms = _loss()
    loss.eval()  # connector BN with its running statistics (0, 1)
    g = torch.Generator().manual_seed(1)
    student = [
        torch.randn(2, 2, 3, 3, generator=g),
        torch.randn(2, 3, 2, 2, generator=g)
    ]
    teacher = [
        torch.randn(2, 3, 3, 3, generator=g),
        torch.randn(2, 2, 2, 2, generator=g)
    ]
    got = loss.to(device)([s.to(device) for s in student],
                          [t.to(device) for t in teacher]).item()
    loss.cpu()
    total = 0.0
    for i, (s, t) in enumerate(zip(student, teacher)):
        w = loss.connectors[i].conv.weight.detach().numpy()[:, :, 0, 0]
        eps = loss.connectors[i].bn.eps
        src = np.einsum('oc,nchw->nohw', w, s.numpy()) / math.sqrt(1 + eps)
        margin = np.array([
            _hand_margin(float(a), float(b))
            for a, b in zip(norms[i].weight, norms[i].bias)
        ]).reshape(1, -1, 1, 1)
        tgt = np.maximum(t.numpy(), margin)
        mask = (src > tgt) | (tgt > 0)
        dist = (((src - tgt)**2) * mask).sum() / 2
        total += dist / 2**(1 - i)  # levels weighted 1/2, 1
    assert got == pytest.approx(total, rel=1e-5)


def test_margins_are_set_once_and_saved():
    loss, norms = _loss()
    before = [m.clone() for m in loss.margins]
    for bn in norms:
        bn.bias.data += 1.0
    loss.init_margins(norms)  # already set: kept (e.g. after a resume)
    assert all(torch.equal(a, b) for a, b in zip(before, loss.margins))
    state = loss.state_dict()
    assert {'margin0', 'margin1'} <= set(state)
    fresh = OverhaulLoss([2, 3], [3, 2])
    assert not fresh.margins_ready
    with pytest.raises(RuntimeError, match='FRSKDHook'):
        fresh([torch.zeros(1, 2, 3, 3),
               torch.zeros(1, 3, 2, 2)],
              [torch.zeros(1, 3, 3, 3),
               torch.zeros(1, 2, 2, 2)])
    fresh.load_state_dict(state)
    assert fresh.margins_ready


def test_wrong_channels_name_the_keys():
    loss = OverhaulLoss([2, 3], [4, 6])
    with pytest.raises(
            ValueError,
            match=r'model.head.feature_loss.teacher_channels'
            r'=\[4, 6\] .* set model.head.feature_loss.'
            r'teacher_channels=\[4, 8\]'):
        loss.check_channels([2, 3], [4, 8], 'model.head.feature_loss')


@pytest.mark.parametrize('backbone', [
    dict(type='ResNet_CIFAR', depth=18, out_indices=(0, 1, 2, 3)),
    dict(
        type='frskd_mm.WideResNetCIFAR',
        depth=16,
        widen_factor=2,
        block='authors',
        out_indices=(0, 1, 2)),
])
def test_recorded_preactivations_are_the_features_before_relu(backbone):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        net = MODELS.build(backbone)
    recorder = PreActRecorder(net)
    net.train()
    outs = net(torch.randn(2, 3, 32, 32))
    pre = recorder()
    assert len(pre) == len(outs)
    for p, o in zip(pre, outs):
        torch.testing.assert_close(torch.relu(p), o, rtol=0, atol=0)
        assert (p < 0).any()
    net.eval()
    net(torch.randn(2, 3, 32, 32))
    with pytest.raises(RuntimeError, match='training mode'):
        recorder()  # nothing recorded in eval mode
    recorder.remove()
    assert isinstance(net, WideResNetCIFAR) or hasattr(net, 'res_layers')


def test_unsupported_backbone_is_named():
    with pytest.raises(ValueError, match='not from Linear'):
        PreActRecorder(nn.Linear(2, 2))


def test_bifpn_layer_returns_its_node_outputs_before_relu():
    torch.manual_seed(0)
    layer = BiFPNLayer([4, 8, 16], [8, 16, 32], depth=1).train()
    feats = [torch.randn(2, c, s, s) for c, s in ((4, 8), (8, 4), (16, 2))]
    outs, pre = layer(feats, preact=True)
    for o, p in zip(outs, pre):
        torch.testing.assert_close(torch.relu(p), o, rtol=0, atol=0)
    norms = layer.preact_norms()
    assert [n.num_features for n in norms] == [8, 16, 32]
    top_down_only = BiFPNLayer([4, 8], [8, 16], depth=1, bottom_up=False)
    with pytest.raises(ValueError, match='bottom-up path'):
        top_down_only(feats[:2], preact=True)


def test_distillation_reaches_only_the_student(build_frskd, device):
    od = dict(
        type='OverhaulLoss',
        student_channels=[32, 64, 128],
        teacher_channels=[64, 128, 256])
    model = build_frskd(feature_loss=od).to(device)
    FRSKDHook().before_train(types.SimpleNamespace(model=model))
    model.train()
    samples = [DataSample().set_gt_label(i % 5).to(device) for i in range(4)]
    losses = model(torch.randn(4, 3, 32, 32).to(device), samples, mode='loss')
    loss = losses['loss_att']
    assert loss > 0
    teacher = list(model.neck.parameters())
    student = list(model.backbone.parameters())
    connectors = list(model.head.distill.feature_loss.parameters())
    grads = torch.autograd.grad(
        loss, teacher + student + connectors, allow_unused=True)
    nt, ns = len(teacher), len(student)
    assert all(g is None or not g.any() for g in grads[:nt])
    assert any(g is not None and g.any() for g in grads[nt:nt + ns])
    assert all(g is not None and g.any() for g in grads[nt + ns:])
    margins = model.head.distill.feature_loss.margins
    assert all(
        torch.allclose(m.cpu(), torch.tensor(-math.sqrt(2 / math.pi)))
        for m in margins)
