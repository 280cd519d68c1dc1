"""FRSKDNeck on top of the student's own neck, and its layer types."""
import copy

import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

import frskd_mm  # noqa: F401
from frskd_mm.models.necks import FRSKDNeck, SelfTeacherFeatures
from frskd_mm.models.necks.bifpn_layer import BiFPNLayer

STAGES = [8, 16, 32, 64]
FPN = dict(type='FPN', in_channels=STAGES, out_channels=16, num_outs=4)


@pytest.fixture(autouse=True)
def mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def _feats(seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(2, c, 32 // 2**i, 32 // 2**i, generator=g)
        for i, c in enumerate(STAGES))


def _neck(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='FRSKDNeck', neck=copy.deepcopy(FPN), in_channels=[16] * 4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_the_teacher_refines_the_inner_necks_outputs():
    neck = _neck()
    plain_fpn = MODELS.build(copy.deepcopy(FPN))
    plain_fpn.load_state_dict(neck.neck.state_dict())
    feats = _feats()
    neck.train()
    plain_fpn.train()
    out = neck(feats)
    expected = plain_fpn(feats)
    assert isinstance(out, SelfTeacherFeatures)
    # The student's features are the FPN's levels, untouched ...
    assert len(out) == 4
    for a, b in zip(out, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # ... and the self-teacher refines them at width 2 x 16.
    assert [tuple(t.shape) for t in out.refined
            ] == [(2, 32, 32 // 2**i, 32 // 2**i) for i in range(4)]
    assert out.teacher_logits is None
    keys = neck.state_dict()
    assert any(k.startswith('neck.lateral_convs.') for k in keys)
    assert any(k.startswith('layers.0.') for k in keys)


def test_eval_mode_runs_only_the_inner_neck():
    neck = _neck()
    neck.eval()
    calls = []
    for m in neck.layers.modules():
        m.register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        out = neck(_feats())
        expected = neck.neck(_feats())
    assert calls == []
    assert type(out) is tuple and len(out) == 4
    for a, b in zip(out, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_teacher_gradient_reaches_the_inner_neck():
    neck = _neck()
    neck.train()
    feats = tuple(f.requires_grad_() for f in _feats())
    out = neck(feats)
    sum(t.mean() for t in out.refined).backward()
    grads = [p.grad for p in neck.neck.parameters()]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)


def test_inner_neck_keeps_the_contiguous_layout():
    neck = _neck()
    conv = neck.neck.lateral_convs[0].conv.weight
    assert conv.is_contiguous()
    assert neck.layers[0].lateral_convs[0].conv.weight.is_contiguous(
        memory_format=torch.channels_last)


def test_level_mismatch_names_the_inner_neck():
    neck = _neck(in_channels=[16] * 3)
    neck.train()
    with pytest.raises(
            ValueError,
            match=r'inner neck model.neck.neck \(FPN\) returned '
            r'4 feature maps \[16, 16, 16, 16\]'):
        neck(_feats())
    neck = _neck(in_channels=[16, 16, 16, 8])
    neck.train()
    with pytest.raises(
            ValueError,
            match=r"model.neck.in_channels must equal the inner "
            r"neck's output channels \[16, 16, 16, 16\]"):
        neck(_feats())


@pytest.mark.parametrize('inner, error, match', [
    ('FPN', TypeError, 'config dict of the student'),
    (dict(in_channels=STAGES), TypeError, 'config dict of the student'),
    (dict(type='FRSKDNeck',
          in_channels=STAGES), ValueError, 'not another self-teacher'),
])
def test_bad_inner_neck_config(inner, error, match):
    with pytest.raises(error, match=match):
        MODELS.build(dict(type='FRSKDNeck', neck=inner, in_channels=[16] * 4))


def test_default_layer_is_the_classification_bifpn_with_depth():
    neck = MODELS.build(dict(type='FRSKDNeck', in_channels=STAGES, depth=3))
    layer, = neck.layers
    assert type(layer) is BiFPNLayer
    node = layer.top_down_nodes[0]
    assert len(node.conv) == 3
    explicit = MODELS.build(
        dict(
            type='FRSKDNeck',
            in_channels=STAGES,
            layer_cfg=dict(type='BiFPNLayer', depth=1)))
    assert len(explicit.layers[0].top_down_nodes[0].conv) == 1


@pytest.mark.parametrize('layer_cfg, error, match', [
    ('BiFPNLayer', TypeError, 'must be a config dict with a type'),
    (dict(depth=2), TypeError, 'must be a config dict with a type'),
    (dict(type='BiFPNLayer', norm_cfg=None), ValueError,
     r"sets \['norm_cfg'\], which FRSKDNeck sets"),
])
def test_bad_layer_cfg(layer_cfg, error, match):
    with pytest.raises(error, match=match):
        MODELS.build(
            dict(type='FRSKDNeck', in_channels=STAGES, layer_cfg=layer_cfg))


def test_classification_head_refuses_an_inner_neck(build_frskd):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = build_frskd()
    model.neck.neck = torch.nn.Identity()
    with pytest.raises(ValueError, match='Remove model.neck.neck'):
        model.head.check_neck(model.neck)
    assert isinstance(model.neck, FRSKDNeck)
