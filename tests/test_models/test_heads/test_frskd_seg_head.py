"""FRSKDSegHead: loss terms, gradients, eval-mode cost and errors (mmseg)."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import seg_samples, with_frskd_hook
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

import frskd_mm  # noqa: F401
from frskd_mm.models.heads import FRSKDSegHead, SelfTeacherDecoder

NUM_CLASSES = 4
IGNORE = 255


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Build in MMSeg's scope, as a config with default_scope='mmseg'."""
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


# ---------------------------------------------------------------------------
# The loss terms on tiny tensors, against hand-computed values.
# ---------------------------------------------------------------------------


def _tiny_head(alpha=0.5,
               beta=3.0,
               temperature=2.0,
               teacher_loss_weight=0.7,
               **student):
    student_cfg = dict(
        type='FCNHead',
        in_channels=4,
        channels=4,
        num_convs=0,
        concat_input=False,
        num_classes=3,
        dropout_ratio=0.0)
    student_cfg.update(student)
    head = MODELS.build(
        dict(
            type='FRSKDSegHead',
            student=student_cfg,
            teacher=dict(in_channels=4, in_index=0, channels=4),
            alpha=alpha,
            beta=beta,
            temperature=temperature,
            teacher_loss_weight=teacher_loss_weight))
    return with_frskd_hook(head)


def _log_softmax(v):
    m = max(v)
    lse = m + math.log(sum(math.exp(x - m) for x in v))
    return [x - lse for x in v]


def _hand_losses(s, t, label, alpha, temperature, tw):
    """Per-pixel loops over (N, C, H, W) logits and (N, H, W) labels."""
    n, _, h, w = s.shape
    ce_sum, kd_sum, student_ce_sum, valid = 0.0, 0.0, 0.0, 0
    for b in range(n):
        for i in range(h):
            for j in range(w):
                y = int(label[b, i, j])
                if y == IGNORE:
                    continue
                valid += 1
                tv, sv = t[b, :, i, j].tolist(), s[b, :, i, j].tolist()
                ce_sum -= _log_softmax(tv)[y]
                student_ce_sum -= _log_softmax(sv)[y]
                lt = _log_softmax([x / temperature for x in tv])
                ls = _log_softmax([x / temperature for x in sv])
                kd_sum += sum(math.exp(a) * (a - c) for a, c in zip(lt, ls))
    return dict(
        # mmseg's CrossEntropyLoss (avg_non_ignore=False) divides by all
        # N*H*W pixels; ignored ones add zero.
        loss_ce=student_ce_sum / (n * h * w),
        loss_teacher=tw * ce_sum / valid,
        loss_kd=alpha * temperature**2 * kd_sum / valid)


def _hand_attention(student_feats, refined_feats, beta):
    total = 0.0
    for f, r in zip(student_feats, refined_feats):
        a = (f.numpy().astype(np.float64)**2).mean(1).reshape(f.shape[0], -1)
        b = (r.numpy().astype(np.float64)**2).mean(1).reshape(r.shape[0], -1)
        a /= np.linalg.norm(a, axis=1, keepdims=True)
        b /= np.linalg.norm(b, axis=1, keepdims=True)
        total += ((a - b)**2).mean()
    return beta * total


def _tiny_inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(2, 3, 3, 3, generator=g) * 2
    t = torch.randn(2, 3, 3, 3, generator=g) * 2
    label = torch.randint(0, 3, (2, 3, 3), generator=g)
    label[0, 0, :] = IGNORE
    label[1, 2, 1] = IGNORE
    feats = [
        torch.rand(2, 2, 3, 3, generator=g),
        torch.rand(2, 3, 2, 2, generator=g)
    ]
    refined = [
        torch.rand(2, 5, 3, 3, generator=g),
        torch.rand(2, 6, 2, 2, generator=g)
    ]
    return s, t, label, feats, refined


def _all_losses(head, s, t, label, feats, refined):
    """What FRSKDSegHead.loss computes after the two decoders ran."""
    samples = seg_samples(label)
    losses = head.student.loss_by_feat(s, samples)
    losses.update(head.distill_by_feat(s, t, feats, refined, samples))
    return losses


def test_each_term_matches_hand_computed_values_with_ignored_pixels():
    head = _tiny_head(
        alpha=0.5, beta=3.0, temperature=2.0, teacher_loss_weight=0.7)
    s, t, label, feats, refined = _tiny_inputs()
    losses = _all_losses(head, s, t, label, feats, refined)
    expected = _hand_losses(s, t, label, alpha=0.5, temperature=2.0, tw=0.7)
    expected['loss_att'] = _hand_attention(feats, refined, beta=3.0)
    assert set(losses) == {
        'loss_ce', 'acc_seg', 'loss_teacher', 'loss_kd', 'loss_att'
    }
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(value, rel=1e-5), key
    # acc_seg counts the 14 valid pixels only.
    pred = s.argmax(1)
    valid = label != IGNORE
    acc = 100.0 * (pred[valid] == label[valid]).float().mean().item()
    assert losses['acc_seg'].item() == pytest.approx(acc, rel=1e-5)


def test_ignored_pixels_contribute_to_no_term():
    head = _tiny_head()
    s, t, label, feats, refined = _tiny_inputs(seed=3)
    before = _all_losses(head, s, t, label, feats, refined)
    ignored = (label == IGNORE)[:, None].expand_as(s)
    noise = torch.randn(s.shape, generator=torch.Generator().manual_seed(9))
    s2 = torch.where(ignored, s + 50 * noise, s)
    t2 = torch.where(ignored, t - 50 * noise, t)
    after = _all_losses(head, s2, t2, label, feats, refined)
    for key in before:
        assert torch.equal(before[key], after[key]), key
    # The same change on a valid pixel moves every logit-based term.
    valid_pixel = torch.zeros_like(ignored)
    valid_pixel[1, :, 0, 0] = True
    assert label[1, 0, 0] != IGNORE
    s3 = torch.where(valid_pixel, s + 5 * noise, s)
    t3 = torch.where(valid_pixel, t - 5 * noise, t)
    moved = _all_losses(head, s3, t3, label, feats, refined)
    for key in ('loss_ce', 'loss_teacher', 'loss_kd'):
        assert not torch.equal(before[key], moved[key]), key


def test_all_ignored_image_gives_zero_not_nan():
    head = _tiny_head()
    s, t, _, feats, refined = _tiny_inputs()
    label = torch.full((2, 3, 3), IGNORE)
    losses = head.distill_by_feat(s, t, feats, refined, seg_samples(label))
    assert losses['loss_teacher'].item() == 0.0
    assert losses['loss_kd'].item() == 0.0
    assert torch.isfinite(losses['loss_att'])


@pytest.mark.parametrize('align_corners', [False, True])
def test_logits_are_resized_bilinearly_to_the_label(align_corners):
    head = _tiny_head(
        align_corners=align_corners,
        alpha=1.0,
        temperature=1.0,
        teacher_loss_weight=1.0)
    assert head.align_corners is align_corners
    g = torch.Generator().manual_seed(5)
    s = torch.randn(1, 3, 3, 3, generator=g)  # decoder resolutions differ
    t = torch.randn(1, 3, 2, 2, generator=g)
    label = torch.randint(0, 3, (1, 5, 5), generator=g)
    label[0, 4, :] = IGNORE
    _, _, _, feats, refined = _tiny_inputs()
    feats, refined = [f[:1] for f in feats], [r[:1] for r in refined]
    losses = head.distill_by_feat(s, t, feats, refined, seg_samples(label))
    up = dict(size=(5, 5), mode='bilinear', align_corners=align_corners)
    expected = _hand_losses(
        F.interpolate(s, **up),
        F.interpolate(t, **up),
        label,
        alpha=1.0,
        temperature=1.0,
        tw=1.0)
    for key in ('loss_teacher', 'loss_kd'):
        assert losses[key].item() == pytest.approx(
            expected[key], rel=1e-5), key


def test_binary_student_reads_one_channel_as_sigmoid():
    head = _tiny_head(
        num_classes=2,
        out_channels=1,
        temperature=2.0,
        alpha=1.0,
        teacher_loss_weight=1.0,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    assert head.out_channels == 1 and head.teacher.out_channels == 1
    assert head.threshold == pytest.approx(0.3)
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(
        2, 1, 3, 3, generator=g), torch.randn(
            2, 1, 3, 3, generator=g)
    label = torch.randint(0, 2, (2, 3, 3), generator=g)
    label[0, 1, 1] = IGNORE
    _, _, _, feats, refined = _tiny_inputs()
    losses = head.distill_by_feat(s, t, feats, refined, seg_samples(label))
    valid = label != IGNORE
    zt, zs, y = t[:, 0][valid], s[:, 0][valid], label[valid].float()
    bce = F.binary_cross_entropy_with_logits(zt, y)
    pt, ps = torch.sigmoid(zt / 2), torch.sigmoid(zs / 2)
    kl = pt * torch.log(pt / ps) + (1 - pt) * torch.log((1 - pt) / (1 - ps))
    assert losses['loss_teacher'].item() == pytest.approx(bce.item(), rel=1e-5)
    assert losses['loss_kd'].item() == pytest.approx(
        4 * kl.mean().item(), rel=1e-4)


def test_hook_schedule_scales_kd_and_att_only():
    head = _tiny_head()
    s, t, label, feats, refined = _tiny_inputs()
    full = _all_losses(head, s, t, label, feats, refined)
    head.distill.scale = 0.25
    quarter = _all_losses(head, s, t, label, feats, refined)
    for key in ('loss_kd', 'loss_att'):
        assert quarter[key].item() == pytest.approx(0.25 * full[key].item())
    for key in ('loss_ce', 'loss_teacher'):
        assert torch.equal(quarter[key], full[key])


# ---------------------------------------------------------------------------
# A whole mmseg EncoderDecoder: ResNetV1c-18-D8 (narrow), ASPP+ student.
# ---------------------------------------------------------------------------

STAGES = [16, 32, 64, 128]  # base_channels=16; sizes 8, 4, 4, 4 at 32x32
STUDENT = dict(
    type='DepthwiseSeparableASPPHead',
    in_channels=128,
    in_index=3,
    channels=16,
    dilations=(1, 6),
    c1_in_channels=16,
    c1_channels=8,
    dropout_ratio=0.1,
    num_classes=NUM_CLASSES,
    align_corners=False)
AUX = dict(
    type='FCNHead',
    in_channels=64,
    in_index=2,
    channels=8,
    num_convs=1,
    concat_input=False,
    dropout_ratio=0.0,
    num_classes=NUM_CLASSES,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4))


def segmentor_cfg(frskd=True,
                  neck=True,
                  aux=True,
                  teacher=None,
                  neck_channels=STAGES):
    """A tiny FRSKD (or plain) EncoderDecoder config, as a ConfigDict."""
    cfg = dict(
        type='EncoderDecoder',
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            base_channels=16,
            stem_channels=16,
            out_indices=(0, 1, 2, 3),
            strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4),
            contract_dilation=True),
        decode_head=copy.deepcopy(STUDENT),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    if frskd:
        cfg['decode_head'] = dict(
            type='FRSKDSegHead',
            student=copy.deepcopy(STUDENT),
            teacher=teacher
            or dict(in_channels=2 * STAGES[0], in_index=0, channels=16),
            alpha=1.0,
            beta=50.0,
            temperature=1.0)
        if neck:
            cfg['neck'] = dict(
                type='FRSKDNeck', in_channels=neck_channels, width=2)
    if aux:
        cfg['auxiliary_head'] = copy.deepcopy(AUX)
    # mmseg reads test_cfg.mode as an attribute: a ConfigDict, not a dict.
    return ConfigDict(cfg)


def build(cfg, init_weights=True):
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    if init_weights:
        model.init_weights()
    return model


@pytest.fixture(scope='module')
def _frskd_segmentor():
    with DefaultScope.overwrite_default_scope('mmseg'):
        return build(segmentor_cfg())


@pytest.fixture
def segmentor(_frskd_segmentor):
    return copy.deepcopy(_frskd_segmentor)


@pytest.fixture(scope='module')
def seg_batch():
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(2, 3, 32, 32, generator=g)
    labels = torch.randint(0, NUM_CLASSES, (2, 32, 32), generator=g)
    labels[:, :5] = IGNORE
    return inputs, labels


def _train_losses(model, seg_batch):
    with_frskd_hook(model).train()
    inputs, labels = seg_batch
    return model(inputs, seg_samples(labels), mode='loss')


@pytest.fixture(scope='module')
def trained(_frskd_segmentor, seg_batch):
    """One training forward, shared by the gradient tests (read-only)."""
    model = copy.deepcopy(_frskd_segmentor)
    return model, _train_losses(model, seg_batch)


def _grads(loss, params):
    grads = torch.autograd.grad(
        loss, params, retain_graph=True, allow_unused=True)
    return [
        torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)
    ]


def _nonzero(grads):
    return [torch.count_nonzero(g) > 0 for g in grads]


def test_segmentor_exposes_the_student_attributes(segmentor):
    head = segmentor.decode_head
    assert isinstance(head, FRSKDSegHead)
    assert isinstance(head.teacher, SelfTeacherDecoder)
    assert (segmentor.num_classes, segmentor.out_channels,
            segmentor.align_corners) == (NUM_CLASSES, NUM_CLASSES, False)
    assert head.ignore_index == IGNORE and head.threshold is None
    prefixes = {
        k.split('.')[1]
        for k in segmentor.state_dict() if k.startswith('decode_head.')
    }
    # Attention transfer has no parameters: only the two decoders are saved.
    assert prefixes == {'student', 'teacher'}


def test_training_losses_with_auxiliary_head(trained):
    segmentor, losses = trained
    assert set(losses) == {
        'decode.loss_ce', 'decode.acc_seg', 'decode.loss_teacher',
        'decode.loss_kd', 'decode.loss_att', 'aux.loss_ce', 'aux.acc_seg'
    }
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert losses['decode.loss_kd'] > 0 and losses['decode.loss_att'] > 0
    # The auxiliary head decodes the backbone's stage 3 (not a refined map)
    # and trains the backbone.
    aux = _grads(losses['aux.loss_ce'],
                 list(segmentor.auxiliary_head.parameters()))
    assert all(_nonzero(aux))
    backbone = _grads(losses['aux.loss_ce'],
                      list(segmentor.backbone.parameters()))
    assert any(_nonzero(backbone))
    neck = _grads(losses['aux.loss_ce'], list(segmentor.neck.parameters()))
    assert not any(_nonzero(neck))


def test_distillation_gives_zero_gradient_to_the_self_teacher(trained):
    segmentor, losses = trained
    teacher = list(segmentor.neck.parameters()) + list(
        segmentor.decode_head.teacher.parameters())
    backbone = list(segmentor.backbone.parameters())
    student = list(segmentor.decode_head.student.parameters())
    for key in ('decode.loss_kd', 'decode.loss_att'):
        assert losses[key].item() > 0
        assert not any(_nonzero(_grads(losses[key], teacher))), key
        assert any(_nonzero(_grads(losses[key], backbone))), key
    kd_student = _grads(losses['decode.loss_kd'], student)
    assert any(_nonzero(kd_student))
    head = segmentor.decode_head.student
    conv_seg = _grads(losses['decode.loss_kd'], [head.conv_seg.weight])
    assert all(_nonzero(conv_seg))


def test_teacher_loss_trains_the_teacher_and_reaches_the_backbone(trained):
    segmentor, losses = trained
    loss = losses['decode.loss_teacher']
    decoder = _grads(loss, list(segmentor.decode_head.teacher.parameters()))
    assert all(_nonzero(decoder))
    neck = dict(segmentor.neck.named_parameters())
    grads = dict(zip(neck, _grads(loss, list(neck.values()))))
    # The finest refined level is built from every lateral and top-down
    # node of the self-teacher.
    layer = 'layers.0.'
    for part in ('lateral_convs', 'top_down_nodes', 'upsamples'):
        names = [n for n in grads if n.startswith(layer + part)]
        assert names and all(torch.count_nonzero(grads[n]) > 0
                             for n in names), part
    assert any(_nonzero(_grads(loss, list(segmentor.backbone.parameters()))))
    student = _grads(loss, list(segmentor.decode_head.student.parameters()))
    assert not any(_nonzero(student))


def test_training_without_the_hook_names_it(segmentor, seg_batch):
    segmentor.train()
    inputs, labels = seg_batch
    with pytest.raises(RuntimeError, match='FRSKDHook'):
        segmentor(inputs, seg_samples(labels), mode='loss')


def test_training_without_the_neck_names_it(seg_batch):
    model = build(segmentor_cfg(neck=False, aux=False), init_weights=False)
    # FRSKDHook stops it before the first iteration ...
    with pytest.raises(ValueError, match="no FRSKDNeck: set model.neck="):
        with_frskd_hook(model)
    # ... and the head itself, should it run without the hook's check.
    for loss in model.decode_head.modules():
        if hasattr(loss, 'stop_target_grad'):
            loss.stop_target_grad = True
    inputs, labels = seg_batch
    with pytest.raises(TypeError, match='FRSKDNeck'):
        model.train()(inputs, seg_samples(labels), mode='loss')


TRAINING_ONLY = ('neck.', 'decode_head.teacher.', 'decode_head.distill.')


def _student_state(frskd_state):
    """The export rule: drop the self-teacher, rename the student."""
    out = {}
    for key, value in frskd_state.items():
        if key.startswith(TRAINING_ONLY):
            continue
        out[key.replace('decode_head.student.', 'decode_head.', 1)] = value
    return out


def test_eval_predict_runs_only_the_student_and_equals_the_plain_model(
        segmentor, seg_batch):
    # A training step (which does run the teacher decoder) updates the BN
    # statistics, so the compared weights are not the initial ones.
    teacher_calls = []
    segmentor.decode_head.teacher.register_forward_hook(
        lambda *a: teacher_calls.append(1))
    _train_losses(segmentor, seg_batch)
    assert teacher_calls == [1]
    segmentor.eval()
    calls = []
    watched = [m for m in segmentor.neck.modules() if m is not segmentor.neck]
    watched += list(segmentor.decode_head.teacher.modules())
    watched += list(segmentor.decode_head.distill.modules())
    handles = [
        m.register_forward_hook(lambda m, i, o: calls.append(m))
        for m in watched
    ]
    inputs, labels = seg_batch
    with torch.no_grad():
        preds = segmentor(inputs, seg_samples(labels), mode='predict')
        tensor = segmentor(inputs, mode='tensor')
    assert calls == []
    for h in handles:
        h.remove()

    plain = MODELS.build(segmentor_cfg(frskd=False))
    plain.load_state_dict(_student_state(segmentor.state_dict()), strict=True)
    plain.eval()
    with torch.no_grad():
        plain_preds = plain(inputs, seg_samples(labels), mode='predict')
        plain_tensor = plain(inputs, mode='tensor')
    torch.testing.assert_close(tensor, plain_tensor, rtol=0, atol=0)
    for a, b in zip(preds, plain_preds):
        torch.testing.assert_close(
            a.seg_logits.data, b.seg_logits.data, rtol=0, atol=0)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)


# ---------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------


def _head_cfg(**kwargs):
    cfg = dict(
        type='FRSKDSegHead',
        student=copy.deepcopy(STUDENT),
        teacher=dict(in_channels=32, in_index=0, channels=16))
    cfg.update(kwargs)
    return cfg


@pytest.mark.parametrize('student, error, match', [
    (None, TypeError, r"nested config dict.*decode_head=dict\(type="
     r"'FRSKDSegHead', student=dict\(type="),
    ('FCNHead', TypeError, 'nested config dict'),
    (dict(in_channels=8, channels=8, num_classes=3), ValueError, 'no `type`'),
    (dict(type='NoSuchHead'), ValueError,
     r"'NoSuchHead' is not in MMSegmentation's MODELS"),
    (dict(type='ResNetV1c', depth=18), TypeError,
     "'ResNetV1c' is not an MMSegmentation decode head"),
    (dict(type='FCNHead', in_channels=8, channels=8), TypeError,
     "could not build its student decode head 'FCNHead'.*num_classes"),
])
def test_bad_student_config_says_what_to_write(student, error, match):
    cfg = _head_cfg()
    if student is None:
        cfg.pop('student')
    else:
        cfg['student'] = student
    with pytest.raises(error, match=match):
        MODELS.build(cfg)


def test_bad_student_config_error_survives_the_segmentor_build():
    cfg = segmentor_cfg()
    cfg.decode_head.student = dict(type='NoSuchHead')
    with pytest.raises(ValueError, match='FRSKDSegHead.student'):
        MODELS.build(cfg)


@pytest.mark.parametrize('teacher, error, match', [
    (None, TypeError, r'teacher=dict\(in_channels='),
    (dict(in_index=0), TypeError, r'teacher=dict\(in_channels='),
    (dict(in_channels=[32, 64, 128, 256], in_index=4), ValueError,
     'in_index=4 is out of range for the 4 refined levels'),
    (dict(in_channels=32, in_index='0'), TypeError, 'must be an int'),
    (dict(in_channels=32,
          kernel=3), TypeError, r"Unknown key\(s\) \['kernel'"),
    (dict(in_channels=0), ValueError, 'in_channels must be a positive int'),
])
def test_bad_teacher_config(teacher, error, match):
    cfg = _head_cfg()
    if teacher is None:
        cfg.pop('teacher')
    else:
        cfg['teacher'] = teacher
    with pytest.raises(error, match=match):
        MODELS.build(cfg)


def test_teacher_level_from_a_list_of_widths():
    head = MODELS.build(
        _head_cfg(teacher=dict(in_channels=[32, 64, 128, 256], in_index=-3)))
    assert head.teacher.in_channels == 64 and head.teacher_in_index == -3


def test_student_loss_named_like_an_frskd_term_is_refused():
    student = dict(
        STUDENT,
        loss_decode=dict(type='CrossEntropyLoss', loss_name='loss_kd'))
    with pytest.raises(ValueError, match=r"\['loss_kd'\]"):
        MODELS.build(_head_cfg(student=student))


@pytest.mark.parametrize('teacher, before_train, first_iter', [
    (dict(in_channels=24, in_index=0),
     r'model.decode_head.teacher.in_channels=24 but refined level 0 '
     r'\(model.decode_head.teacher.in_index\) has 32 channels '
     r'\(model.neck.width=2 x 16\); set '
     r'model.decode_head.teacher.in_channels=32',
     r'refined level 0 has shape \(2, 32, 8, 8\).*teacher=dict\('
     r'in_channels=32, in_index=0'),
    (dict(in_channels=32, in_index=4),
     r'model.decode_head.teacher.in_index=4 but the self-teacher refines 4 '
     r'levels \(model.neck.in_channels=\[16, 32, 64, 128\]\)',
     'in_index=4 is out of range: '
     r'FRSKDNeck refines 4 levels \(widths \[32, 64, 128, 256\]\)'),
])
def test_teacher_mismatch_with_the_neck_is_explained(seg_batch, teacher,
                                                     before_train, first_iter):
    model = build(
        segmentor_cfg(teacher=teacher, aux=False), init_weights=False)
    with pytest.raises(ValueError, match=before_train):
        with_frskd_hook(model)
    for m in model.modules():  # the head's own check, past the hook's
        if hasattr(m, 'stop_target_grad'):
            m.stop_target_grad = True
    inputs, labels = seg_batch
    with pytest.raises(ValueError, match=first_iter):
        model.train()(inputs, seg_samples(labels), mode='loss')


def test_neck_channels_that_do_not_match_the_backbone():
    model = build(
        segmentor_cfg(neck_channels=[16, 32, 64, 100], aux=False),
        init_weights=False)
    with pytest.raises(
            ValueError,
            match=r'level 3: expected 100 channels '
            r'.*model.neck.in_channels must equal the backbone '
            r'stage channels \[16, 32, 64, 128\]'):
        with_frskd_hook(model)
