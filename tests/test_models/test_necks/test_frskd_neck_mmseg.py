"""FRSKDNeck built through MMSegmentation's registry on mmseg backbones."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

import frskd_mm  # noqa: F401
from frskd_mm.models.necks import FRSKDNeck, SelfTeacherFeatures

# name: (backbone cfg, channels c_i, spatial sizes at a 64x64 input)
BACKBONES = {
    # DeepLab's ResNet-50-D8 (narrowed with base_channels=16): strides
    # 4/8/8/8, the last three stages share one resolution.
    'resnetv1c50_d8': (dict(
        type='ResNetV1c',
        depth=50,
        base_channels=16,
        stem_channels=16,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=True), [64, 128, 256, 512], [16, 8, 8, 8]),
    # A pyramid, strides 4/8/16/32.
    'resnetv1c18': (dict(
        type='ResNetV1c',
        depth=18,
        base_channels=16,
        stem_channels=16,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 2, 2)), [16, 32, 64, 128], [16, 8, 4, 2]),
    # MMPretrain's EfficientNet-B0 through a cross-scope type, the
    # authors' p2..p5 levels (strides 4/8/16/32) ...
    'efficientnet_b0_4':
    (dict(type='mmpretrain.EfficientNet', arch='b0',
          out_indices=(2, 3, 4, 5)), [24, 40, 112, 320], [16, 8, 4, 2]),
    # ... and five levels from stride 2.
    'efficientnet_b0_5': (dict(
        type='mmpretrain.EfficientNet', arch='b0',
        out_indices=(1, 2, 3, 4, 5)), [16, 24, 40, 112,
                                       320], [32, 16, 8, 4, 2]),
}


@pytest.fixture(autouse=True)
def mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def test_mmseg_builds_the_same_neck_class():
    neck = MODELS.build(dict(type='FRSKDNeck', in_channels=[8, 16]))
    assert type(neck) is FRSKDNeck


@pytest.mark.parametrize('name', list(BACKBONES))
def test_refined_shapes_follow_the_mmseg_backbone(name):
    cfg, channels, sizes = BACKBONES[name]
    torch.manual_seed(0)
    backbone = MODELS.build(cfg)
    neck = MODELS.build(dict(type='FRSKDNeck', in_channels=channels,
                             width=2)).train()
    feats = backbone(torch.rand(1, 3, 64, 64))
    assert [(int(f.shape[1]), int(f.shape[-1]))
            for f in feats] == list(zip(channels, sizes))
    out = neck(feats)
    assert isinstance(out, SelfTeacherFeatures)
    assert len(out) == len(feats) and all(a is b for a, b in zip(out, feats))
    assert [tuple(t.shape) for t in out.refined
            ] == [(1, 2 * c, s, s) for c, s in zip(channels, sizes)]
    assert out.teacher_logits is None
    # Eval mode: the backbone features pass through, untouched.
    neck.eval()
    assert neck(feats) is feats


def test_non_square_input_on_a_dilated_backbone():
    cfg, channels, _ = BACKBONES['resnetv1c50_d8']
    backbone = MODELS.build(cfg)
    neck = MODELS.build(dict(type='FRSKDNeck', in_channels=channels)).train()
    out = neck(backbone(torch.rand(1, 3, 40, 72)))
    assert [tuple(t.shape[-2:]) for t in out.refined] == [(10, 18), (5, 9),
                                                          (5, 9), (5, 9)]


def test_channel_mismatch_with_an_mmseg_backbone():
    cfg, _, _ = BACKBONES['resnetv1c18']
    backbone = MODELS.build(cfg)
    neck = MODELS.build(dict(type='FRSKDNeck', in_channels=[16, 32, 64,
                                                            256])).train()
    with pytest.raises(ValueError, match='level 3: expected 256 channels'):
        neck(backbone(torch.rand(1, 3, 64, 64)))
