"""SegBiFPNHead: the authors' segmentation classifier as an MMSeg head."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import frskd_mm  # noqa: F401
from frskd_mm.engine.hooks import FRSKDHook
from frskd_mm.models.heads import FRSKDSegHead, SegBiFPNHead
from frskd_mm.models.necks import SelfTeacherFeatures
from frskd_mm.models.utils import TorchInitConv2d

NUM_CLASSES = 4


@pytest.fixture(autouse=True)
def mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def _samples(n, size, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        s = SegDataSample()
        label = torch.randint(0, NUM_CLASSES, (1, size, size), generator=g)
        label[0, 0, :3] = 255  # a few ignored pixels
        s.gt_sem_seg = PixelData(data=label)
        s.set_metainfo(
            dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size)))
        out.append(s)
    return out


def _levels(c=16, n=2):
    return [torch.randn(n, c, s, s) for s in (16, 8, 4, 2, 1, 1)]


def test_structure_and_shapes():
    head = SegBiFPNHead(16, num_classes=21)
    assert head.in_index == 0 and head.dropout is None
    assert head.channels == 256 and not head.align_corners
    assert isinstance(head.conv.conv, TorchInitConv2d)
    assert head.conv.conv.kernel_size == (3, 3)
    assert head.conv.conv.bias is not None
    assert head.conv.bn.eps == 1e-4 and head.conv.bn.momentum == 0.997
    assert isinstance(head.conv.activate, nn.ReLU)
    assert head.conv_seg.kernel_size == (3, 3)
    assert head.conv_seg.padding == (1, 1) and head.conv_seg.bias is not None
    out = head(_levels())
    assert out.shape == (2, 21, 16, 16)
    # an odd-sized level keeps its size (3x3 convs, padding 1)
    assert head([torch.randn(1, 16, 17, 13)]).shape == (1, 21, 17, 13)


def test_forward_is_conv_norm_relu_then_conv_seg():
    torch.manual_seed(0)
    head = SegBiFPNHead(16, channels=8, num_classes=NUM_CLASSES).eval()
    xs = _levels()
    with torch.no_grad():
        hidden = torch.relu(head.conv.bn(head.conv.conv(xs[0])))
        assert torch.allclose(head(xs), head.conv_seg(hidden))
        assert head.conv_seg.weight.shape == (NUM_CLASSES, 8, 3, 3)


@pytest.mark.parametrize('c', [64, 88])
def test_parameter_count_matches_the_authors(c):
    # Their classifier1: Conv2d(C, 256, 3, padding=1) with bias (9*C*256 +
    # 256), BatchNorm2d(256) (2*256), Conv2d(256, 21, 3, padding=1)
    # (9*256*21 + 21).
    head = SegBiFPNHead(c, num_classes=21)
    expected = 9 * c * 256 + 256 + 2 * 256 + 9 * 256 * 21 + 21
    assert sum(p.numel() for p in head.parameters()) == expected


def test_default_init_is_pytorch_default():
    # BaseDecodeHead normal-inits conv_seg (std 0.01) by default; this head
    # keeps PyTorch's default initialisation of every conv, as the authors.
    torch.manual_seed(0)
    head = SegBiFPNHead(16, channels=8, num_classes=NUM_CLASSES)
    assert head.init_cfg is None
    before = {k: v.clone() for k, v in head.state_dict().items()}
    head.init_weights()
    after = head.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # Kaiming uniform, a=sqrt(5): |w| <= 1/sqrt(fan_in), far above 0.01 std
    bound = (8 * 9)**-0.5
    assert head.conv_seg.weight.abs().max() <= bound
    assert head.conv_seg.weight.std() > 0.05


def test_gradients_reach_every_parameter():
    head = SegBiFPNHead(16, channels=8, num_classes=NUM_CLASSES)
    xs = [x.requires_grad_() for x in _levels(n=3)]
    head(xs).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in head.parameters())
    assert xs[0].grad.abs().sum() > 0 and xs[1].grad is None


def test_decode_head_of_an_encoder_decoder():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='EncoderDecoder',
            backbone=dict(type='TappedEfficientNet', arch='b0'),
            neck=dict(
                type='SegBiFPN',
                in_channels=[24, 40, 80, 320],
                out_channels=16),
            decode_head=dict(
                type='SegBiFPNHead',
                in_channels=16,
                channels=8,
                num_classes=NUM_CLASSES,
                loss_decode=dict(type='CrossEntropyLoss',
                                 avg_non_ignore=True)),
            test_cfg=ConfigDict(mode='whole')))
    head = {k: v.clone() for k, v in model.decode_head.state_dict().items()}
    model.init_weights()
    # the segmentor's init leaves the head at PyTorch's default init
    assert all(
        torch.equal(v, head[k])
        for k, v in model.decode_head.state_dict().items())
    x = torch.randn(2, 3, 64, 64)
    losses = model.loss(x, _samples(2, 64))
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}
    losses['decode.loss_ce'].backward()
    # The head reads P2 only, so the bottom-up nodes of the neck's last
    # layer (which make P3..P7) get no gradient from it; in FRSKD the
    # self-teacher and the attention loss read those levels.
    unused = {
        n
        for n, _ in model.neck.layers[-1].bottom_up_nodes.named_parameters(
            prefix='neck.layers.2.bottom_up_nodes')
    }
    assert len(unused) == 5 * 4
    assert all(
        (p.grad is None) == (n in unused) for n, p in model.named_parameters())
    model.eval()
    with torch.no_grad():
        preds = model.predict(x, _samples(2, 64))
    assert preds[0].seg_logits.data.shape == (NUM_CLASSES, 64, 64)


class _Runner:

    def __init__(self, model):
        self.model = model


def test_student_of_frskd_seg_head():
    head = FRSKDSegHead(
        student=dict(
            type='SegBiFPNHead',
            in_channels=16,
            channels=8,
            num_classes=NUM_CLASSES),
        teacher=dict(in_channels=16, in_index=0, channels=8))
    assert isinstance(head.student, SegBiFPNHead)
    FRSKDHook().before_train(_Runner(head))
    feats = _levels()
    refined = [f.relu() for f in _levels()]
    inputs = SelfTeacherFeatures(feats, refined)
    losses = head.loss(inputs, _samples(2, 64))
    assert {'loss_ce', 'acc_seg', 'loss_teacher', 'loss_kd',
            'loss_att'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    sum(v for k, v in losses.items() if k.startswith('loss_')).backward()
    assert all(p.grad is not None for p in head.student.parameters())
    head.eval()
    assert head(tuple(feats)).shape == (2, NUM_CLASSES, 16, 16)


def test_hostile_inputs():
    head = SegBiFPNHead(16, channels=8, num_classes=NUM_CLASSES)
    with pytest.raises(RuntimeError, match='channels'):
        head([torch.randn(1, 15, 8, 8)])
    with pytest.raises(IndexError):
        SegBiFPNHead(16, num_classes=NUM_CLASSES, in_index=6)(_levels())
