"""SegFPN and SegBiFPN: the authors' segmentation FPN and student neck."""
import pytest
import torch
import torch.nn as nn
from mmengine.registry import DefaultScope

import frskd_mm  # noqa: F401
from frskd_mm.models.necks import SegBiFPN, SegBiFPNLayer, SegFPN
from frskd_mm.models.utils import TorchInitConv2d

#: Channels of the authors' EfficientNet-B0/B1 taps C2..C5.
TAPS = [24, 40, 80, 320]


def _backbone_levels(image, channels=TAPS, n=2):
    """C2..C5 at strides 4..32 (sizes rounded up, like 'same' padding)."""
    sizes = [-(-image // s) for s in (4, 8, 16, 32)]
    return [torch.randn(n, c, s, s) for c, s in zip(channels, sizes)]


def _count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('image,p_sizes', [(64, [16, 8, 4, 2, 1, 1]),
                                           (65, [17, 9, 5, 3, 2, 1]),
                                           (512, [128, 64, 32, 16, 8, 4])])
def test_fpn_and_neck_shapes(image, p_sizes):
    fpn = SegFPN(TAPS, 16)
    neck = SegBiFPN(TAPS, 16)
    xs = _backbone_levels(image, n=2)
    for outs in (fpn(xs), neck(xs)):
        assert isinstance(outs, tuple) and len(outs) == 6
        assert [tuple(o.shape) for o in outs] == [(2, 16, s, s)
                                                  for s in p_sizes]
    assert neck.out_channels == [16] * 6


def test_fpn_values_by_hand():
    # One channel, every conv weight 1, bias 0, BN the identity: with
    # constant positive C2..C5 = c2..c5 the laterals are the constants and
    # P5 = 2 c5 (toplayer weight 2), P4 = P5 + c4, P3 = P4 + c3,
    # P2 = P3 + c2 (bilinear upsampling of a constant is the constant).
    # P6 = conv3x3/2, padding 1, of C5 (4x4) -- not of P5 --: the windows
    # hold 4, 6, 6, 9 pixels; P7 sums P6's 2x2 map: 25 c5.
    fpn = SegFPN([1, 1, 1, 1], 1)
    for m in fpn.modules():
        if isinstance(m, TorchInitConv2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            m.eps = 0.0
    fpn.lateral_convs[3].conv.weight.data.fill_(2.0)
    fpn.eval()
    c2, c3, c4, c5 = 1.0, 10.0, 100.0, 1000.0
    xs = [
        torch.full((1, 1, s, s), c)
        for s, c in zip([32, 16, 8, 4], [c2, c3, c4, c5])
    ]
    with torch.no_grad():
        p2, p3, p4, p5, p6, p7 = fpn(xs)
    for p, v in ((p5, 2 * c5), (p4, 2 * c5 + c4), (p3, 2 * c5 + c4 + c3),
                 (p2, 2 * c5 + c4 + c3 + c2)):
        assert torch.allclose(p, torch.full_like(p, v))
    assert torch.equal(p6[0, 0], torch.tensor([[4., 6.], [6., 9.]]) * c5)
    assert p7.item() == 25 * c5


def test_fpn_upsample_add_is_bilinear_without_relu():
    # P4 = up(P5) + L4 with bilinear resizing (align_corners=False) and no
    # activation after the sum; the laterals are conv-BN-ReLU.
    torch.manual_seed(0)
    fpn = SegFPN(TAPS, 8).eval()
    xs = _backbone_levels(64, n=1)
    with torch.no_grad():
        outs = fpn(xs)
        lat = [conv(x) for conv, x in zip(fpn.lateral_convs, xs)]
        p4 = nn.functional.interpolate(
            lat[3], size=(4, 4), mode='bilinear', align_corners=False) + lat[2]
    assert torch.allclose(outs[2], p4)
    assert torch.equal(outs[3], lat[3])
    assert all((v >= 0).all() for v in lat)


def test_parameter_counts_match_the_authors():
    # The authors' EfficientDet FPN, each a Conv block = Conv2d with bias
    # + BatchNorm2d(C) (2C): latlayer3/2/1 and toplayer (1x1 on C2..C5):
    # c_k*C + C + 2C each; conv6 (3x3 s2 on C5): 9*320*C + C + 2C; conv7
    # (3x3 s2 on P6): 9*C*C + C + 2C. smooth1/smooth2 are never used.
    for width in (64, 88):  # their B0 and B1 widths
        fpn = sum(c * width + 3 * width for c in TAPS) + \
            9 * 320 * width + 3 * width + 9 * width * width + 3 * width
        assert _count(SegFPN(TAPS, width)) == fpn
        # BiFPN1: three BiFPNSeg layers of 11 nodes, each C + C + 2C.
        assert _count(SegBiFPN(TAPS, width)) == fpn + 3 * 11 * 4 * width
    assert _count(SegFPN(TAPS, 64)) == 252032
    assert _count(SegBiFPN(TAPS, 88, num_layers=0)) == 365552


def test_norm_defaults_are_the_authors():
    neck = SegBiFPN(TAPS, 8)
    fpn_bns = [m for m in neck.fpn.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(fpn_bns) == 6
    assert all(m.eps == 1e-4 and m.momentum == 0.997 for m in fpn_bns)
    layer_bns = [
        m for m in neck.layers.modules() if isinstance(m, nn.BatchNorm2d)
    ]
    assert len(layer_bns) == 33
    assert all(m.eps == 1e-5 and m.momentum == 0.1 for m in layer_bns)
    convs = [m for m in neck.modules() if isinstance(m, nn.Conv2d)]
    assert all(
        isinstance(m, TorchInitConv2d) and m.bias is not None for m in convs)
    assert all(
        isinstance(m, SegBiFPNLayer) and m.bottom_up_nodes is not None
        for m in neck.layers)


def test_neck_is_fpn_then_layers():
    torch.manual_seed(0)
    neck = SegBiFPN(TAPS, 8, num_layers=2).eval()
    xs = _backbone_levels(64)
    with torch.no_grad():
        ref = neck.layers[1](neck.layers[0](neck.fpn(xs)))
        assert all(torch.equal(a, b) for a, b in zip(neck(xs), ref))
        fpn_only = SegBiFPN(TAPS, 8, num_layers=0).eval()
        fpn_only.fpn.load_state_dict(neck.fpn.state_dict())
        assert all(
            torch.equal(a, b) for a, b in zip(fpn_only(xs), neck.fpn(xs)))


def test_gradients_reach_every_parameter_and_the_backbone():
    neck = SegBiFPN(TAPS, 8)
    xs = [x.requires_grad_() for x in _backbone_levels(64, n=3)]
    sum(o.square().sum() for o in neck(xs)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in neck.parameters())
    assert all(x.grad.abs().sum() > 0 for x in xs)


def test_builds_in_the_mmseg_scope():
    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        neck = MODELS.build(
            dict(type='SegBiFPN', in_channels=TAPS, out_channels=8))
    assert isinstance(neck, SegBiFPN) and len(neck.layers) == 3


def test_hostile_configs_and_inputs():
    with pytest.raises(ValueError, match='4 backbone levels'):
        SegFPN([24, 40, 80], 8)
    with pytest.raises(ValueError, match='positive int'):
        SegFPN(TAPS, 0)
    with pytest.raises(ValueError, match='num_layers'):
        SegBiFPN(TAPS, 8, num_layers=-1)
    neck = SegBiFPN(TAPS, 8)
    with pytest.raises(ValueError, match='4 backbone levels C2..C5, got 3'):
        neck(_backbone_levels(64)[1:])
    with pytest.raises(ValueError, match='input channels'):
        neck(_backbone_levels(64, channels=[16, 24, 40, 80]))
