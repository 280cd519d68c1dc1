"""FRSKDSegHead's authors' options and a segmentor whose own neck FRSKD
wraps: KD over all pixels, the teacher's conv bias, and export of the
inner neck."""
import copy
import math

import pytest
import torch
from conftest import seg_samples, with_frskd_hook
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

import frskd_mm  # noqa: F401
from frskd_mm.tasks import get_task

IGNORE = 255


@pytest.fixture(autouse=True)
def mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def _head(**kwargs):
    cfg = dict(
        type='FRSKDSegHead',
        student=dict(
            type='FCNHead',
            in_channels=4,
            channels=4,
            num_convs=0,
            concat_input=False,
            num_classes=3,
            dropout_ratio=0.0),
        teacher=dict(in_channels=4, in_index=0, channels=4),
        alpha=0.5,
        temperature=2.0)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    return with_frskd_hook(head)


def _kl_per_pixel(s, t, temperature):
    """Hand loops: KL(p_t || p_s) at temperature T for each pixel."""
    out = {}
    n, c, h, w = s.shape
    for b in range(n):
        for i in range(h):
            for j in range(w):
                sv = [float(s[b, k, i, j]) / temperature for k in range(c)]
                tv = [float(t[b, k, i, j]) / temperature for k in range(c)]
                ls = [x - math.log(sum(math.exp(y) for y in sv)) for x in sv]
                lt = [x - math.log(sum(math.exp(y) for y in tv)) for x in tv]
                kl = sum(math.exp(p) * (p - q) for p, q in zip(lt, ls))
                out[b, i, j] = kl
    return out


@pytest.mark.parametrize('kd_pixels', ['valid', 'all'])
def test_kd_average_over_valid_or_all_pixels(kd_pixels):
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 3, 3, generator=g) * 2
    t = torch.randn(2, 3, 3, 3, generator=g) * 2
    label = torch.randint(0, 3, (2, 3, 3), generator=g)
    label[0, 0, :] = IGNORE
    label[1, 2, 1] = IGNORE
    feats = [torch.rand(2, 2, 3, 3, generator=g)]
    refined = [torch.rand(2, 5, 3, 3, generator=g)]
    head = _head(kd_pixels=kd_pixels)
    losses = head.distill_by_feat(s, t, feats, refined, seg_samples(label))
    kl = _kl_per_pixel(s, t, 2.0)
    if kd_pixels == 'all':
        # The authors: the KL summed over every pixel / (N * H * W).
        expected = sum(kl.values()) / 18
    else:
        valid = [k for k in kl if int(label[k]) != IGNORE]
        assert len(valid) == 14
        expected = sum(kl[k] for k in valid) / len(valid)
    assert losses['loss_kd'].item() == pytest.approx(
        0.5 * 4.0 * expected, rel=1e-5)


def test_bad_kd_pixels_is_refused():
    with pytest.raises(ValueError, match="kd_pixels must be one of"):
        _head(kd_pixels='some')


@pytest.mark.parametrize('bias, expected', [('auto', False), (True, True)])
def test_teacher_conv_bias_as_the_authors(bias, expected):
    head = _head(
        teacher=dict(
            in_channels=4,
            channels=4,
            bias=bias,
            norm_cfg=dict(type='BN', eps=1e-4, momentum=0.997)))
    conv = head.teacher.conv
    assert (conv.conv.bias is not None) is expected
    assert (conv.bn.eps, conv.bn.momentum) == (1e-4, 0.997)


# ---------------------------------------------------------------------------
# A segmentor with an FPN neck that FRSKD wraps.
# ---------------------------------------------------------------------------

STUDENT = dict(
    type='FPNHead',
    in_channels=[16] * 4,
    in_index=[0, 1, 2, 3],
    feature_strides=[4, 8, 16, 32],
    channels=16,
    dropout_ratio=0.0,
    num_classes=4,
    align_corners=False)
FPN = dict(
    type='FPN', in_channels=[16, 32, 64, 128], out_channels=16, num_outs=4)


def segmentor_cfg(frskd=True):
    cfg = dict(
        type='EncoderDecoder',
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            base_channels=16,
            stem_channels=16,
            out_indices=(0, 1, 2, 3)),
        neck=copy.deepcopy(FPN),
        decode_head=copy.deepcopy(STUDENT),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    if frskd:
        cfg['neck'] = dict(
            type='FRSKDNeck',
            neck=copy.deepcopy(FPN),
            in_channels=[16] * 4,
            width=2,
            last_layer_top_down_only=True)
        cfg['decode_head'] = dict(
            type='FRSKDSegHead',
            student=copy.deepcopy(STUDENT),
            teacher=dict(in_channels=32, in_index=0, channels=16))
    return ConfigDict(cfg)


@pytest.fixture(scope='module')
def batch():
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(2, 3, 64, 64, generator=g)
    labels = torch.randint(0, 4, (2, 64, 64), generator=g)
    labels[:, :5] = IGNORE
    return inputs, labels


def _build(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def test_frskd_trains_on_top_of_an_fpn_neck(batch):
    model = _build(segmentor_cfg())
    with_frskd_hook(model)
    model.train()
    inputs, labels = batch
    losses = model(inputs, seg_samples(labels), mode='loss')
    assert {'decode.loss_teacher', 'decode.loss_kd', 'decode.loss_att'} <= \
        set(losses)
    fpn = list(model.neck.neck.parameters())
    teacher = list(model.neck.layers.parameters())
    grads = torch.autograd.grad(
        losses['decode.loss_teacher'],
        fpn + teacher,
        retain_graph=True,
        allow_unused=True)
    # The teacher's CE trains the self-teacher and the student's FPN ...
    assert all(g is not None for g in grads[len(fpn):])
    assert any(g is not None and g.abs().sum() > 0 for g in grads[:len(fpn)])
    # ... while distillation reaches the FPN (the student) but not the
    # self-teacher.
    for key in ('decode.loss_kd', 'decode.loss_att'):
        grads = torch.autograd.grad(
            losses[key], fpn + teacher, retain_graph=True, allow_unused=True)
        assert all(g is None or g.abs().sum() == 0 for g in grads[len(fpn):])
        assert any(g is not None and g.abs().sum() > 0
                   for g in grads[:len(fpn)]), key


def test_hook_checks_the_inner_neck_before_training():
    cfg = segmentor_cfg()
    cfg.neck.in_channels = [16] * 3
    model = _build(cfg)
    with pytest.raises(
            ValueError,
            match=r'inner neck model.neck.neck \(FPN\)'
            r' returned 4 feature maps'):
        with_frskd_hook(model)


def test_export_keeps_the_inner_neck_and_the_student_logits(batch):
    model = _build(segmentor_cfg())
    with_frskd_hook(model)
    inputs, labels = batch
    model.train()
    model(inputs, seg_samples(labels), mode='loss')  # moves the BN statistics
    task = get_task(dict(default_scope='mmseg'))
    plain_cfg = task.student_model_config(segmentor_cfg().to_dict())
    assert plain_cfg['neck'] == FPN
    assert plain_cfg['decode_head'] == STUDENT
    state = task.student_state_dict(model.state_dict())
    assert not any(k.startswith(('neck.neck.', 'neck.layers.')) for k in state)
    assert any(k.startswith('neck.lateral_convs.') for k in state)
    plain = MODELS.build(ConfigDict(plain_cfg))
    plain.load_state_dict(state, strict=True)
    model.eval()
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            model(inputs, mode='tensor'),
            plain(inputs, mode='tensor'),
            rtol=0,
            atol=0)


def test_a_preactivation_feature_loss_is_refused_before_training():
    cfg = segmentor_cfg()
    cfg.decode_head.feature_loss = dict(
        type='OverhaulLoss',
        student_channels=[16] * 4,
        teacher_channels=[32] * 4)
    model = _build(cfg)
    with pytest.raises(
            ValueError,
            match='model.decode_head.feature_loss is OverhaulLoss'):
        with_frskd_hook(model)
