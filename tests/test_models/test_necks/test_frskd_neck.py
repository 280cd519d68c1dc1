import pytest
import torch
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmpretrain.registry import MODELS

import frskd_mm  # noqa: F401
from frskd_mm.models.necks import FRSKDNeck, SelfTeacherFeatures

BACKBONES = {
    'resnet18_cifar':
    (dict(type='ResNet_CIFAR', depth=18,
          out_indices=(0, 1, 2, 3)), 32, [64, 128, 256, 512], [32, 16, 8, 4]),
    'wrn16_2': (dict(
        type='WideResNetCIFAR',
        depth=16,
        widen_factor=2,
        out_indices=(0, 1, 2)), 32, [32, 64, 128], [32, 16, 8]),
    'resnet18': (dict(type='ResNet', depth=18,
                      out_indices=(0, 1, 2, 3)), 64, [64, 128, 256,
                                                      512], [16, 8, 4, 2]),
    'resnet34': (dict(type='ResNet', depth=34,
                      out_indices=(0, 1, 2, 3)), 64, [64, 128, 256,
                                                      512], [16, 8, 4, 2]),
    # Dilated: the last three stages share one resolution.
    'resnet18_d8': (dict(
        type='ResNet',
        depth=18,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4)), 64, [64, 128, 256, 512], [16, 8, 8, 8]),
}


@pytest.mark.parametrize('name', list(BACKBONES))
def test_refined_shapes_follow_the_backbone(name):
    cfg, size, channels, sizes = BACKBONES[name]
    backbone = MODELS.build(cfg)
    neck = FRSKDNeck(in_channels=channels, width=2, num_classes=7).train()
    feats = backbone(torch.rand(2, 3, size, size))
    out = neck(feats)
    assert isinstance(out, SelfTeacherFeatures)
    assert all(a is b for a, b in zip(out, feats)) and len(out) == len(feats)
    assert [tuple(t.shape) for t in out.refined
            ] == [(2, 2 * c, s, s) for c, s in zip(channels, sizes)]
    assert out.teacher_logits.shape == (2, 7)
    assert all((t >= 0).all() for t in out.refined)  # ReLU-ed outputs


def test_odd_sizes_stacked_layers_and_width():
    feats = (torch.rand(1, 4, 7, 7), torch.rand(1, 8, 4,
                                                4), torch.rand(1, 16, 2, 2))
    neck = FRSKDNeck([4, 8, 16], width=3, depth=1, num_layers=2).train()
    out = neck(feats)
    assert [tuple(t.shape) for t in out.refined] == [(1, 12, 7, 7),
                                                     (1, 24, 4, 4),
                                                     (1, 48, 2, 2)]
    assert out.teacher_logits is None and neck.fc is None


def test_fusion_topology():
    neck = FRSKDNeck([8, 16, 32, 64])
    layer = neck.layers[0]
    # Top-down nodes fuse two maps; bottom-up nodes fuse three, the last two.
    assert [n.weight.numel() for n in layer.top_down_nodes] == [2, 2, 2]
    assert [n.weight.numel() for n in layer.bottom_up_nodes] == [3, 3, 2]
    assert len(layer.lateral_convs) == 4
    assert len(layer.bottom_up_laterals) == 3
    # Fast normalized fusion weights start at one.
    assert all((n.weight == 1).all() for n in layer.top_down_nodes)
    # Depth 2 separable block: [dw, pw, BN, ReLU], [dw, pw, BN], no bias.
    first, last = layer.top_down_nodes[0].conv
    for block in (first, last):
        assert isinstance(block, DepthwiseSeparableConvModule)
        assert not block.depthwise_conv.with_norm
        assert not block.depthwise_conv.with_activation
        assert block.depthwise_conv.conv.groups == 16
        assert block.pointwise_conv.norm_name == 'bn'
        assert block.depthwise_conv.conv.bias is None
        assert block.pointwise_conv.conv.bias is None
    assert first.pointwise_conv.with_activation
    assert not last.pointwise_conv.with_activation
    # 1x1 conv (no bias) -> BN -> ReLU laterals and resampling convs.
    for conv in (layer.lateral_convs[0], layer.upsamples[0].conv):
        assert isinstance(conv, ConvModule) and conv.conv.bias is None
        assert conv.order == ('conv', 'norm', 'act') and conv.with_activation


def test_eval_mode_never_runs_the_teacher():
    neck = FRSKDNeck([4, 8]).eval()
    calls = []
    for m in neck.modules():
        if m is not neck:
            m.register_forward_hook(lambda *a: calls.append(1))
    feats = (torch.rand(1, 4, 8, 8), torch.rand(1, 8, 4, 4))
    assert neck(feats) is feats
    assert calls == []


def test_channel_mismatch_names_the_stage():
    neck = FRSKDNeck([4, 8, 16]).train()
    feats = (torch.rand(1, 4, 8, 8), torch.rand(1, 9, 4,
                                                4), torch.rand(1, 16, 2, 2))
    with pytest.raises(ValueError, match='level 1: expected 8 channels'):
        neck(feats)


def test_wrong_number_of_levels_says_how_to_fix_it():
    neck = FRSKDNeck([4, 8, 16]).train()
    with pytest.raises(ValueError, match='out_indices'):
        neck((torch.rand(1, 8, 4, 4), torch.rand(1, 16, 2, 2)))


@pytest.mark.parametrize('channels', [[64], [], [64, 0], [64, 12.5]])
def test_bad_channel_list_fails_at_build_time(channels):
    with pytest.raises(ValueError, match='in_channels'):
        FRSKDNeck(channels)


@pytest.mark.parametrize('num_layers', [1, 2])
def test_top_down_last_layer_trains_every_parameter_from_the_finest_level(
        num_layers):
    """Segmentation teachers read only T_1: with a top-down last layer the
    refined maps are P_1..P_n and every neck parameter is reached."""
    neck = FRSKDNeck([4, 8, 16],
                     num_layers=num_layers,
                     last_layer_top_down_only=True).train()
    feats = (torch.rand(2, 4, 16, 16), torch.rand(2, 8, 8,
                                                  8), torch.rand(2, 16, 4, 4))
    out = neck(feats)
    assert [tuple(t.shape) for t in out.refined] == [(2, 8, 16, 16),
                                                     (2, 16, 8, 8),
                                                     (2, 32, 4, 4)]
    assert not hasattr(neck.layers[-1], 'bottom_up_nodes')
    out.refined[0].sum().backward()
    unused = [n for n, p in neck.named_parameters() if p.grad is None]
    assert unused == []


def test_norm_cfg_reaches_every_norm_layer():
    # Default: BatchNorm2d, as the paper.
    neck = FRSKDNeck([8, 16, 32], num_classes=4)
    norms = [
        m for m in neck.modules()
        if isinstance(m, torch.nn.modules.batchnorm._NormBase)
    ]
    assert norms and all(type(m) is torch.nn.BatchNorm2d for m in norms)
    # SyncBN for multi-GPU segmentation configs: no plain BN left.
    sync = FRSKDNeck([8, 16, 32],
                     num_classes=4,
                     norm_cfg=dict(type='SyncBN', requires_grad=True))
    sync_norms = [
        m for m in sync.modules()
        if isinstance(m, torch.nn.modules.batchnorm._NormBase)
    ]
    assert len(sync_norms) == len(norms)
    assert all(isinstance(m, torch.nn.SyncBatchNorm) for m in sync_norms)
    # GroupNorm trains on CPU and gives the documented shapes.
    gn = FRSKDNeck([8, 16], norm_cfg=dict(type='GN', num_groups=4)).train()
    assert not any(
        isinstance(m, torch.nn.modules.batchnorm._NormBase)
        for m in gn.modules())
    out = gn((torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4)))
    assert [tuple(t.shape) for t in out.refined] == [(2, 16, 8, 8),
                                                     (2, 32, 4, 4)]
