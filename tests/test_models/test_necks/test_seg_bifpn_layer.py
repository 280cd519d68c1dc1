"""SegBiFPNLayer: the authors' segmentation BiFPN layer (``BiFPNSeg``)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import DefaultScope

import frskd_mm  # noqa: F401
from frskd_mm.models.necks import SegBiFPNLayer
from frskd_mm.models.utils import TorchInitConv2d

C = 8
#: The six levels P2..P7 of a 64x64 image (strides 4..128, 1x1 at the top).
SIZES_64 = [16, 8, 4, 2, 1, 1]


def _layer(bottom_up=True, n=6, c=C, **kwargs):
    return SegBiFPNLayer([c] * n, [c] * n, bottom_up=bottom_up, **kwargs)


def _identity_nodes(layer):
    """Every node computes ReLU(x): depthwise weight 1, bias 0, BN eval with
    mean 0, var 1, eps 0, affine identity."""
    for node in layer.modules():
        if isinstance(node, TorchInitConv2d):
            nn.init.ones_(node.weight)
            nn.init.zeros_(node.bias)
        elif isinstance(node, nn.BatchNorm2d):
            node.eps = 0.0
    layer.eval()
    return layer


def _levels(sizes, c=C, n=2, fill=None):
    if fill is not None:
        return [
            torch.full((n, c, s, s), float(v)) for s, v in zip(sizes, fill)
        ]
    return [
        torch.randn(n, c, *(s if isinstance(s, tuple) else (s, s)))
        for s in sizes
    ]


@pytest.mark.parametrize('bottom_up', [True, False])
def test_shapes_for_six_levels_and_odd_sizes(bottom_up):
    layer = _layer(bottom_up)
    for sizes in (SIZES_64, [(13, 11), (7, 6), (4, 3), (2, 2), (1, 1),
                             (1, 1)], [33, 17, 9, 5, 3, 2]):
        xs = _levels(sizes)
        outs = layer(xs)
        assert [o.shape for o in outs] == [x.shape for x in xs]
        assert all((o >= 0).all() for o in outs)  # every output is a ReLU


def test_nodes_sum_the_authors_inputs():
    # Constant positive maps c_i stay constant through up/down-sampling, and
    # identity nodes make each output the plain sum of its node's inputs:
    # top-down u_6 = x_6 and u_i = x_i + u_{i+1} (their conv{k}up), bottom-up
    # o_1 = u_1 and o_i = x_i + u_i + o_{i-1} (their conv{k}dw, the top node
    # P7_out included).
    c = [1, 2, 4, 8, 16, 32]
    xs = _levels(SIZES_64, fill=c)
    u = [63, 62, 60, 56, 48, 32]
    o = [63, 127, 191, 255, 319, 383]
    with torch.no_grad():
        full = _identity_nodes(_layer(True))(xs)
        last = _identity_nodes(_layer(False))(xs)
    assert [float(t.unique()) for t in full] == o
    assert [float(t.unique()) for t in last] == u  # (P2_out, P3_up..P7_up)


def test_resampling_is_bilinear_up_and_nearest_down():
    # The authors upsample by the scale factor (nn.Upsample, bilinear) and
    # downsample by nearest interpolation to the size; for power-of-two
    # sizes resizing to the size gives the same values.
    torch.manual_seed(0)
    sizes = [32, 16, 8, 4, 2, 1]
    xs = [x.abs() for x in _levels(sizes)]
    up_ref = [None] * 6
    up_ref[5] = xs[5]
    for i in range(4, -1, -1):
        scale = xs[i].shape[3] / up_ref[i + 1].shape[3]
        up_ref[i] = xs[i] + nn.Upsample(
            scale_factor=scale, mode='bilinear')(
                up_ref[i + 1])
    out_ref = [up_ref[0]]
    for i in range(1, 6):
        out_ref.append(xs[i] + up_ref[i] +
                       F.interpolate(out_ref[-1], xs[i].shape[2:]))
    assert all(
        torch.allclose(a, b, atol=1e-5)
        for a, b in zip(_identity_nodes(_layer(True))(xs), out_ref))
    assert all(
        torch.allclose(a, b, atol=1e-5)
        for a, b in zip(_identity_nodes(_layer(False))(xs), up_ref))


def test_nodes_are_depthwise_with_bias_and_default_bn():
    layer = _layer(True)
    for node in list(layer.top_down_nodes) + list(layer.bottom_up_nodes):
        assert isinstance(node.conv, TorchInitConv2d)  # PyTorch default init
        assert node.conv.groups == C and node.conv.kernel_size == (1, 1)
        assert node.conv.weight.shape == (C, 1, 1, 1)
        assert node.conv.bias is not None
        assert node.bn.eps == 1e-5 and node.bn.momentum == 0.1
        assert isinstance(node.activate, nn.ReLU)
    # No channel mixing: a change in channel 0 leaves the others alone.
    layer.eval()
    xs = _levels(SIZES_64)
    ys = [x.clone() for x in xs]
    ys[2][:, 0] += 1.0
    a, b = layer(xs), layer(ys)
    assert all(torch.equal(p[:, 1:], q[:, 1:]) for p, q in zip(a, b))


@pytest.mark.parametrize('n', [2, 6])
def test_parameter_counts_match_the_authors(n):
    # The authors' BiFPNSeg(C): each node (conv{k}up, conv{k}dw) is
    # Conv2d(C, C, 1, groups=C) with bias (C + C) and BatchNorm2d(C) (2C);
    # a full layer has conv2up..conv7up and conv3dw..conv7dw (11 nodes for
    # 6 levels, 2n - 1 in general), the last (is_last) conv2up..conv7up
    # only (n); smooth1/smooth2 are never used and not built here.
    per_node = C + C + 2 * C
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(_layer(True, n)) == (2 * n - 1) * per_node
    assert count(_layer(False, n)) == n * per_node
    if n == 6:
        assert count(_layer(True, n, c=64)) == 11 * 4 * 64 == 2816
        assert count(_layer(False, n, c=64)) == 6 * 4 * 64 == 1536


@pytest.mark.parametrize('bottom_up', [True, False])
def test_gradients_reach_every_parameter_and_input(bottom_up):
    layer = _layer(bottom_up)
    xs = [x.requires_grad_() for x in _levels(SIZES_64, n=3)]
    sum(o.square().sum() for o in layer(xs)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in layer.parameters())
    assert all(x.grad.abs().sum() > 0 for x in xs)


def test_with_lateral_has_no_effect():
    torch.manual_seed(0)
    a = _layer(True, with_lateral=True)
    b = _layer(True, with_lateral=False)
    b.load_state_dict(a.state_dict())
    xs = _levels(SIZES_64)
    assert all(torch.equal(p, q) for p, q in zip(a(xs), b(xs)))


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmseg'])
def test_builds_from_the_task_registries_like_frskd_neck(scope):
    from mmpretrain.registry import MODELS as CLS_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    registry = CLS_MODELS if scope == 'mmpretrain' else SEG_MODELS
    with DefaultScope.overwrite_default_scope(scope):
        layer = registry.build(
            dict(
                type='SegBiFPNLayer',
                in_channels=[C] * 6,
                out_channels=[C] * 6,
                with_lateral=False,
                bottom_up=False,
                norm_cfg=dict(type='BN', eps=1e-3)))
    assert isinstance(layer, SegBiFPNLayer) and layer.bottom_up_nodes is None
    assert layer.top_down_nodes[0].bn.eps == 1e-3


def test_hostile_configs_and_inputs():
    with pytest.raises(ValueError, match='>= 2 levels'):
        SegBiFPNLayer([C], [C])
    with pytest.raises(ValueError, match='no laterals and one width'):
        SegBiFPNLayer([8, 16, 32], [8, 16, 32])
    with pytest.raises(ValueError, match='width=1'):
        SegBiFPNLayer([8] * 6, [16] * 6)
    with pytest.raises(ValueError, match='no laterals'):
        SegBiFPNLayer([8] * 5, [8] * 6)
    layer = _layer(True)
    with pytest.raises(ValueError, match='built for 6 levels, got 5'):
        layer(_levels(SIZES_64[:5]))
    with pytest.raises(ValueError, match='input channels'):
        layer(_levels(SIZES_64, c=C + 1))
