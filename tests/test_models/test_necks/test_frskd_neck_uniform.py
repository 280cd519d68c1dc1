"""FRSKDNeck with one width for every level: the authors' uniform-width
``BiFPN`` of the paper's ablation (MingiJi/FRSKD,
``classification/models/bifpn.py``), beside ``BiFPNc`` (our default)."""
import pytest
import torch

from frskd_mm.models.necks import FRSKDNeck

STAGES = [64, 128, 256, 512]  # ResNet-18 (CIFAR)
UNIFORM = dict(
    out_channels=256,
    layer_cfg=dict(type='BiFPNLayer', depth=2, resample_conv=False))


def authors_bifpn_params(stages, d, num_classes, depth=2):
    """Parameters of the authors' ``BiFPN(network_channel, num_classes)``
    with ``num_channels=d``, ``repeat=1``, ``depth=[depth] * 3``, written
    from their modules (``models/utils.py: DepthConvBlock``):

    - ``lat_conv`` (every level) and ``lat_conv2`` (levels 2..n): a 1x1
      conv without bias (c_i * d) and BatchNorm (2d);
    - ``up_conv`` (levels 1..n-1) and ``down_conv`` (levels 2..n):
      ``depth`` x (depthwise 3x3 (9d), pointwise 1x1 (d * d), BatchNorm
      (2d));
    - ``up_weight`` (2 per top-down node), ``down_weight`` (3, the top 2);
    - no parameters in the resampling (``nn.Upsample``, max pooling);
    - ``linear``: d * num_classes + num_classes.
    """
    n = len(stages)
    lateral = sum(c * d + 2 * d for c in stages)
    lateral2 = sum(c * d + 2 * d for c in stages[1:])
    block = depth * (9 * d + d * d + 2 * d)
    nodes = (n - 1) * block * 2
    weights = 2 * (n - 1) + 3 * (n - 2) + 2
    return lateral + lateral2 + nodes + weights + d * num_classes + \
        num_classes


def test_parameters_equal_the_authors_uniform_bifpn():
    neck = FRSKDNeck(STAGES, num_classes=100, **UNIFORM)
    expected = authors_bifpn_params(STAGES, 256, 100)
    # Counted once from their module, built outside this repository.
    assert expected == 1324658
    assert sum(p.numel() for p in neck.parameters()) == expected
    layer, = neck.layers
    assert all(r.conv is None for r in layer.upsamples)
    assert all(r.conv is None for r in layer.downsamples)


def test_every_level_has_the_one_width():
    neck = FRSKDNeck(STAGES, num_classes=10, **UNIFORM).train()
    feats = tuple(
        torch.randn(2, c, 32 // 2**i, 32 // 2**i)
        for i, c in enumerate(STAGES))
    out = neck(feats)
    assert neck.out_channels == [256] * 4
    assert [tuple(t.shape) for t in out.refined
            ] == [(2, 256, 32 // 2**i, 32 // 2**i) for i in range(4)]
    assert out.teacher_logits.shape == (2, 10)
    assert neck.width_origin(2) == 'model.neck.out_channels=256'
    assert FRSKDNeck(STAGES).width_origin(2) == 'model.neck.width=2 x 256'


def test_resampling_without_conv_needs_equal_widths():
    with pytest.raises(ValueError, match='resample_conv=True'):
        FRSKDNeck(STAGES, layer_cfg=UNIFORM['layer_cfg'])


@pytest.mark.parametrize('bad', [0, -4, 2.5, '256'])
def test_bad_out_channels(bad):
    with pytest.raises(ValueError, match='out_channels must be a positive'):
        FRSKDNeck(STAGES, out_channels=bad)
