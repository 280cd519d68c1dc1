"""Checkpoints with the key names of version 1 (hand-made conv blocks) load
strictly into the mmcv-based modules and give identical outputs.

The old state dicts are made by hand from a new model: its keys renamed to
the old layout (``nn.Sequential`` positions), as frskd_mm wrote them before
its conv blocks became mmcv ``ConvModule`` s, and with the metadata
version 1 that PyTorch recorded for every module then.
"""
import re
from collections import OrderedDict

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import get_state_dict
from mmengine.runner.checkpoint import load_state_dict as mme_load_state_dict
from mmengine.runner.checkpoint import weights_to_cpu
from mmpretrain.structures import DataSample

from frskd_mm.engine.hooks import FRSKDHook

# New name -> old name; the first rule that matches applies.
_SEP = r'(?P<p>\.conv\.)(?P<b>\d+)\.'
OLD_NAMES = [
    # SeparableConvBlock: block b's dw, pw, norm at 4b, 4b + 1, 4b + 2.
    (_SEP + r'depthwise_conv\.conv\.', lambda m: f'.conv.{4 * int(m["b"])}.'),
    (_SEP + r'pointwise_conv\.conv\.',
     lambda m: f'.conv.{4 * int(m["b"]) + 1}.'),
    (_SEP + r'pointwise_conv\.(bn|gn)\.',
     lambda m: f'.conv.{4 * int(m["b"]) + 2}.'),
    # Laterals, FitNet regressors: Sequential(conv, norm, ReLU).
    (r'(lateral_convs|bottom_up_laterals|regressors)\.(\d+)\.conv\.',
     r'\1.\2.0.'),
    (r'(lateral_convs|bottom_up_laterals|regressors)\.(\d+)\.(bn|gn)\.',
     r'\1.\2.1.'),
    # Resample.conv: Sequential(conv, norm, ReLU).
    (r'(upsamples|downsamples)\.(\d+)\.conv\.conv\.', r'\1.\2.conv.0.'),
    (r'(upsamples|downsamples)\.(\d+)\.conv\.(bn|gn)\.', r'\1.\2.conv.1.'),
    # SelfTeacherDecoder: conv, norm, act, cls.
    (r'teacher\.conv\.conv\.', 'teacher.conv.'),
    (r'teacher\.conv\.(bn|gn)\.', 'teacher.norm.'),
]


def old_name(key: str) -> str:
    for pattern, repl in OLD_NAMES:
        new, n = re.subn(pattern, repl, key, count=1)
        if n:
            return new
    return key


def old_state_dict(model, metadata=True):
    """``model``'s state dict as version 1 wrote it."""
    state = get_state_dict(model)
    old = OrderedDict((old_name(k), v.clone()) for k, v in state.items())
    assert len(old) == len(state)
    if metadata:
        old._metadata = OrderedDict(
            (k, dict(v, version=1)) for k, v in state._metadata.items())
    return old


def _randomise(model):
    """Weights and statistics nothing else has, so that loading shows."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.dtype.is_floating_point:
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
    return model


def _classifier(build_frskd):
    return _randomise(
        build_frskd(
            feature_loss=dict(
                type='FitNetLoss',
                student_channels=[32, 64, 128],
                teacher_channels=[64, 128, 256])))


def _segmentor(norm_cfg=dict(type='BN')):
    from mmseg.registry import MODELS
    cfg = dict(
        type='EncoderDecoder',
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            base_channels=8,
            stem_channels=8,
            out_indices=(0, 1, 2, 3)),
        neck=dict(
            type='FRSKDNeck',
            in_channels=[8, 16, 32, 64],
            depth=3,
            num_layers=2,
            last_layer_top_down_only=True,
            norm_cfg=norm_cfg),
        decode_head=dict(
            type='FRSKDSegHead',
            student=dict(
                type='FCNHead',
                in_channels=64,
                in_index=3,
                channels=8,
                num_convs=1,
                num_classes=3),
            teacher=dict(in_channels=16, channels=8, norm_cfg=norm_cfg)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return _randomise(MODELS.build(cfg))


def _cls_outputs(model):
    FRSKDHook().before_train(type('R', (), dict(model=model))())
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(4, 3, 32, 32, generator=g)
    samples = [DataSample().set_gt_label(i % 5) for i in range(4)]
    model.train()
    with torch.no_grad():
        out = dict(model(inputs, samples, mode='loss'))
        refined = model.neck(model.backbone(inputs)).refined
        model.eval()
        out['pred'] = model(inputs, mode='tensor')
    return out, refined


def _seg_outputs(model):
    model.train()
    torch.manual_seed(2)  # the student's dropout
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(2, 3, 32, 32))
        teacher = model.neck(feats)
        return dict(
            student=model.decode_head(feats),
            teacher=model.decode_head.teacher(teacher.refined[0]),
            refined=teacher.refined[-1])


def _assert_same(a, b):
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize('metadata', [True, False])
@pytest.mark.parametrize('loader', ['torch', 'mmengine'])
def test_old_classifier_checkpoint_loads_strictly(build_frskd, metadata,
                                                  loader):
    ref = _classifier(build_frskd)
    old = old_state_dict(ref, metadata)
    renamed = [k for k in old if k not in ref.state_dict()]
    assert len(renamed) > 100 and any('regressors.0.1.' in k for k in old)
    model = build_frskd(
        feature_loss=dict(
            type='FitNetLoss',
            student_channels=[32, 64, 128],
            teacher_channels=[64, 128, 256]))
    if loader == 'torch':
        model.load_state_dict(old, strict=True)
    else:  # what the Runner's load_from and resume do
        mme_load_state_dict(model, old, strict=True)
    _assert_same(ref.state_dict(), model.state_dict())
    (a, ra), (b, rb) = _cls_outputs(ref), _cls_outputs(model)
    _assert_same(a, b)
    assert all(torch.equal(x, y) for x, y in zip(ra, rb))


@pytest.mark.parametrize(
    'norm_cfg',
    [dict(type='BN'), dict(type='GN', num_groups=4)])
def test_old_segmentor_checkpoint_file_loads_strictly(tmp_path, norm_cfg):
    ref = _segmentor(norm_cfg)
    old = old_state_dict(ref)
    assert 'decode_head.teacher.norm.weight' in old
    path = str(tmp_path / 'iter_1.pth')
    torch.save(dict(state_dict=weights_to_cpu(old), meta={}), path)
    model = _segmentor(norm_cfg)
    torch.nn.init.zeros_(model.neck.layers[0].lateral_convs[0].conv.weight)
    load_checkpoint(
        model, path, map_location='cpu', strict=True, logger='silent')
    _assert_same(ref.state_dict(), model.state_dict())
    _assert_same(_seg_outputs(ref), _seg_outputs(model))


@pytest.mark.parametrize('metadata', [True, False])
def test_new_checkpoints_are_not_renamed(tmp_path, metadata):
    """Version 2 keys load as they are, with or without metadata."""
    ref = _segmentor()
    state = get_state_dict(ref)
    assert state._metadata['neck.layers.0'] == dict(version=2)
    assert state._metadata['decode_head.teacher'] == dict(version=2)
    if not metadata:
        state = dict(state)
    model = _segmentor()
    torch.nn.init.zeros_(model.decode_head.teacher.conv.conv.weight)
    model.load_state_dict(state, strict=True)
    _assert_same(ref.state_dict(), model.state_dict())
