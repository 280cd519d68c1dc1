"""TappedEfficientNet: MMPretrain's EfficientNet tapped as the authors do."""
import math

import pytest
import torch
from mmpretrain.models import EfficientNet

import frskd_mm  # noqa: F401
from frskd_mm.models.backbones import TappedEfficientNet, tapped_efficientnet
from frskd_mm.models.utils import StaticSamePadConv2d, same_padding

#: efficientnet_pytorch's B0 stages (kernel, stride, out channels, expand
#: ratio, repeats); B1 and B2 repeat each stage ceil(d r) times (depth d
#: 1.1, 1.2) and B2 widens the channels by 1.1 (rounded to multiples of 8,
#: never by more than 10 % down).
STAGES = [(3, 1, 16, 1, 1), (3, 2, 24, 6, 2), (5, 2, 40, 6, 2),
          (3, 2, 80, 6, 3), (5, 1, 112, 6, 3), (5, 2, 192, 6, 4),
          (3, 1, 320, 6, 1)]
DEPTH = {'b0': 1.0, 'b1': 1.1, 'b2': 1.2}
WIDTH = {'b0': 1.0, 'b1': 1.0, 'b2': 1.1}
#: The last block of the authors' layer1, layer2, layer3 and layer5 in
#: efficientdet.py (their p2, p3, p4, p5), as indices of model._blocks
#: (their B2 takes the else branch of B1).
AUTHORS_TAPS = {'b0': [1, 3, 5, 15], 'b1': [2, 5, 8, 22], 'b2': [2, 5, 8, 22]}
TAP_CHANNELS = {
    'b0': (24, 40, 80, 320),
    'b1': (24, 40, 80, 320),
    'b2': (24, 48, 88, 352)
}


def _round_filters(c, width):
    c *= width
    new = max(8, int(c + 4) // 8 * 8)
    return int(new + 8 if new < 0.9 * c else new)


def _their_blocks(arch):
    """(kernel, stride, in, out, expand, SE squeezed channels) of each block of
    efficientnet_pytorch's block list (its repeats keep stride 1 and take
    in = out; SE squeezes to max(1, int(in * 0.25)))."""
    blocks, c_in = [], _round_filters(32, WIDTH[arch])
    for k, s, c, e, r in STAGES:
        c = _round_filters(c, WIDTH[arch])
        for i in range(int(math.ceil(DEPTH[arch] * r))):
            blocks.append(
                (k, s if i == 0 else 1, c_in, c, e, max(1, int(c_in * 0.25))))
            c_in = c
    return blocks


def _my_blocks(model):
    """((layer, block), the same spec) of each MMPretrain block, in order."""
    out = []
    for i in range(1, len(model.layers)):
        for j, b in enumerate(model.layers[i]):
            dw = b.depthwise_conv.conv
            c_in = b.expand_conv.conv.in_channels if b.with_expand_conv \
                else dw.in_channels
            out.append(
                ((i, j),
                 (dw.kernel_size[0], dw.stride[0], c_in,
                  b.linear_conv.conv.out_channels, dw.in_channels // c_in,
                  b.se.conv1.conv.out_channels)))
    return out


@pytest.mark.parametrize('arch', ['b0', 'b1', 'b2'])
def test_blocks_and_taps_are_the_authors(arch):
    model = TappedEfficientNet(arch)
    mine = _my_blocks(model)
    theirs = _their_blocks(arch)
    assert len(mine) == len(theirs) == {'b0': 16, 'b1': 23, 'b2': 23}[arch]
    assert [spec for _, spec in mine] == theirs
    assert [mine[k][0] for k in AUTHORS_TAPS[arch]] == model.out_blocks
    assert model.tap_channels == TAP_CHANNELS[arch]


@pytest.mark.parametrize('arch', ['b0', 'b1'])
@pytest.mark.parametrize('image,sizes', [(64, [16, 8, 4, 2]),
                                         (65, [17, 9, 5, 3])])
def test_tap_shapes(arch, image, sizes):
    model = TappedEfficientNet(arch)
    outs = model(torch.randn(2, 3, image, image))
    assert [tuple(o.shape) for o in outs
            ] == [(2, c, s, s) for c, s in zip((24, 40, 80, 320), sizes)]


def test_layers_after_the_last_tap_are_not_kept():
    full = EfficientNet('b0')
    model = TappedEfficientNet('b0')
    assert len(model.layers) == 6  # no 1x1 conv to 1280 channels
    assert not any(k.startswith('layers.6.') for k in model.state_dict())
    head = sum(p.numel() for p in full.layers[6].parameters())
    assert sum(p.numel() for p in model.parameters()) == \
        sum(p.numel() for p in full.parameters()) - head
    early = TappedEfficientNet('b0', out_blocks=((2, 0), (3, 1), (4, 0)))
    assert len(early.layers) == 5 and len(early.layers[4]) == 1
    assert [tuple(o.shape[1:]) for o in early(torch.randn(1, 3, 32, 32))] \
        == [(24, 8, 8), (40, 4, 4), (80, 2, 2)]


def test_same_values_as_mmpretrain_and_its_checkpoint_loads(tmp_path):
    torch.manual_seed(0)
    full = EfficientNet('b0', out_indices=(2, 5))
    full.eval()  # (MMPretrain's EfficientNet.train returns None)
    ckpt = {'backbone.' + k: v for k, v in full.state_dict().items()}
    ckpt['head.fc.weight'] = torch.zeros(3, 1280)
    path = tmp_path / 'effnet_b0.pth'
    torch.save({'state_dict': ckpt}, path)
    model = TappedEfficientNet(
        'b0',
        init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    model.init_weights()
    model.eval()
    loaded, reference = model.state_dict(), full.state_dict()
    assert all(torch.equal(v, reference[k]) for k, v in loaded.items())
    # Pretrained loads non-strictly; these are the keys it skips.
    skipped = TappedEfficientNet('b0').load_state_dict(reference, strict=False)
    assert not skipped.missing_keys
    assert sorted(skipped.unexpected_keys) == [
        'layers.6.bn.bias', 'layers.6.bn.num_batches_tracked',
        'layers.6.bn.running_mean', 'layers.6.bn.running_var',
        'layers.6.bn.weight', 'layers.6.conv.weight'
    ]
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        taps = model(x)
        stage2, stage5 = full(x)
        after_first_24 = full.layers[2][0](full.layers[1](full.layers[0](x)))
    assert torch.equal(taps[-1], stage5)  # the last block ends layer 5
    assert torch.equal(taps[0], after_first_24)
    assert not torch.equal(taps[0], stage2)  # layer 2 has a second block


def test_gradients_reach_every_parameter():
    model = TappedEfficientNet('b0')
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    sum(o.square().sum() for o in model(x)).backward()
    assert all(p.grad is not None for p in model.parameters())
    assert x.grad.abs().sum() > 0


def test_frozen_stages_and_norm_cfg_pass_through():
    model = TappedEfficientNet(
        'b0',
        frozen_stages=2,
        norm_cfg=dict(type='BN', eps=1e-3, momentum=0.01))
    model.train()
    assert not any(p.requires_grad for p in model.layers[1].parameters())
    assert all(p.requires_grad for p in model.layers[2].parameters())
    assert model.layers[0].bn.momentum == 0.01


def test_hostile_configs():
    with pytest.raises(TypeError, match='out_blocks'):
        TappedEfficientNet('b0', out_indices=(2, 3, 4, 5))
    with pytest.raises(ValueError, match='not a block stage'):
        TappedEfficientNet('b0', out_blocks=((0, 0), (2, 0)))
    with pytest.raises(ValueError, match='not a block stage'):
        TappedEfficientNet('b0', out_blocks=((6, 0), ))
    with pytest.raises(ValueError, match='has 2 blocks'):
        TappedEfficientNet('b0', out_blocks=((2, 2), ))
    with pytest.raises(ValueError, match='network order'):
        TappedEfficientNet('b0', out_blocks=((3, 0), (2, 0)))
    with pytest.raises(ValueError, match='network order'):
        TappedEfficientNet('b0', out_blocks=((2, 0), (2, -2)))
    with pytest.raises(ValueError, match='empty'):
        TappedEfficientNet('b0', out_blocks=())
    with pytest.raises(TypeError, match='int pairs'):
        TappedEfficientNet('b0', out_blocks=(2, 0))
    with pytest.raises(ValueError, match='frozen_stages=5'):
        TappedEfficientNet('b0', out_blocks=((2, 0), (3, 0)), frozen_stages=5)


def test_stem_without_activation_as_the_authors():
    """Their layer0 is conv -> BN (efficientnet_pytorch's stem Swish is left
    out); stem_act=False gives exactly that, and the default keeps it."""
    torch.manual_seed(0)
    with_act = TappedEfficientNet('b0')
    without = TappedEfficientNet('b0', stem_act=False)
    without.load_state_dict(with_act.state_dict())
    with_act.eval()
    without.eval()
    x = torch.randn(1, 3, 64, 64)
    stem = with_act.layers[0]
    with torch.no_grad():
        bn = stem.bn(stem.conv(x))
        torch.testing.assert_close(without.layers[0](x), bn, rtol=0, atol=0)
        torch.testing.assert_close(
            with_act.layers[0](x), bn * torch.sigmoid(bn), rtol=0, atol=0)
        assert not torch.equal(without(x)[0], with_act(x)[0])


def _padded_convs(model):
    """(stride, kernel, input size at 512x512, static padding) of every conv
    with a kernel larger than 1, in network order."""
    size, found = 512, []
    for m in model.modules():
        if isinstance(m, StaticSamePadConv2d):
            if m.kernel_size[0] > 1:
                found.append(
                    (m.stride[0], m.kernel_size[0], size, m.static_padding))
            size = math.ceil(size / m.stride[0])
    return found


@pytest.mark.parametrize('arch,nominal,differ', [
    ('b0', 224, []),
    ('b1', 240, [(2, 5, 32, (2, 2, 2, 2))]),
    ('b2', 260, [(2, 5, 128, (2, 2, 2, 2)), (2, 3, 64, (1, 1, 1, 1)),
                 (2, 5, 32, (2, 2, 2, 2))]),
])
def test_static_padding_of_the_nominal_size(arch, nominal, differ):
    """same_padding_size pads every conv for efficientnet_pytorch's nominal
    input (its Conv2dStaticSamePadding); at 512x512 that is MMPretrain's
    padding except in the strided convs listed (B1: one, B2: three)."""
    model = TappedEfficientNet(arch, same_padding_size=nominal)
    convs = _padded_convs(model)
    assert len(convs) == len(_their_blocks(arch)) + 1  # stem + depthwise
    other = []
    for stride, k, size, pad in convs:
        top, bottom = same_padding(size, k, stride)
        if pad != (top, bottom, top, bottom):
            other.append((stride, k, size, pad))
    assert other == differ
    # Weights keep their names; the padding is fixed whatever the input.
    assert model.state_dict().keys() == TappedEfficientNet(
        arch).state_dict().keys()
    outs = model(torch.randn(1, 3, 65, 63))
    assert [o.shape[1] for o in outs] == list(TAP_CHANNELS[arch])


def test_random_weights_warn_once_naming_the_key(monkeypatch, tmp_path):
    logged = []
    monkeypatch.setattr(tapped_efficientnet, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw)))
    monkeypatch.setattr(TappedEfficientNet, '_warned_random_init', False)
    TappedEfficientNet('b0').init_weights()
    TappedEfficientNet('b1').init_weights()
    (msg, kw), = logged
    assert 'model.backbone.init_cfg' in msg and "'Pretrained'" in msg
    assert 'efficientnet_pytorch_to_mmpretrain.py' in msg
    assert kw['level'] == 30  # logging.WARNING
    # A pretrained backbone does not warn.
    monkeypatch.setattr(TappedEfficientNet, '_warned_random_init', False)
    path = tmp_path / 'b0.pth'
    reference = TappedEfficientNet('b0').state_dict()
    torch.save({'backbone.' + k: v for k, v in reference.items()}, path)
    TappedEfficientNet(
        'b0',
        init_cfg=[
            dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')
        ]).init_weights()
    assert len(logged) == 1
