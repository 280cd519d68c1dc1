"""tools/model_converters/efficientnet_pytorch_to_mmpretrain.py on state
dicts with efficientnet_pytorch's key names and shapes, built here (nothing
is downloaded): the converted checkpoint loads into TappedEfficientNet,
which then computes the authors' features.

The reference is efficientnet_pytorch's EfficientNet (0.7.x, the package
the FRSKD authors' segmentation/utils/efficientdet.py loads with
``EfficientNet.from_pretrained``) restated in plain torch with its module
names: MBConv blocks (expand 1x1 -> BN -> Swish, depthwise -> BN -> Swish,
squeeze-excitation with biased 1x1 convs, project 1x1 -> BN, identity skip
when the shape allows), BN eps 1e-3, every conv padded with the TF 'same'
padding of the arch's nominal input size (224, 240, 260) whatever the
input, and the authors' taps: their layer0 (stem conv -> BN, no Swish) and
the outputs of blocks 1/3/5/15 (B0) or 2/5/8/22 (B1, B2).
"""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from conftest import load_tool

import frskd_mm  # noqa: F401
from frskd_mm.models.backbones import TappedEfficientNet

#: B0's stages: (kernel, stride, out channels, expand ratio, repeats).
STAGES = [(3, 1, 16, 1, 1), (3, 2, 24, 6, 2), (5, 2, 40, 6, 2),
          (3, 2, 80, 6, 3), (5, 1, 112, 6, 3), (5, 2, 192, 6, 4),
          (3, 1, 320, 6, 1)]
#: (width, depth, nominal resolution, the authors' tapped blocks).
ARCHS = {
    'b0': (1.0, 1.0, 224, (1, 3, 5, 15)),
    'b1': (1.0, 1.1, 240, (2, 5, 8, 22)),
    'b2': (1.1, 1.2, 260, (2, 5, 8, 22)),
}


def _filters(c, width):
    c *= width
    new = max(8, int(c + 4) // 8 * 8)
    return int(new + 8 if new < 0.9 * c else new)


class _SameConv(nn.Conv2d):
    """A conv padded for a fixed input size (TF 'same', odd pixel after)."""

    def __init__(self, cin, cout, k, size, stride=1, groups=1, bias=False):
        super().__init__(cin, cout, k, stride, groups=groups, bias=bias)
        total = max((math.ceil(size / stride) - 1) * stride + k - size, 0)
        self.pad = [total // 2, total - total // 2] * 2

    def forward(self, x):
        return super().forward(F.pad(x, self.pad))


def _bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class _MBConv(nn.Module):

    def __init__(self, k, stride, cin, cout, expand, size):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = _SameConv(cin, mid, 1, size)
            self._bn0 = _bn(mid)
        self._depthwise_conv = _SameConv(mid, mid, k, size, stride, mid)
        self._bn1 = _bn(mid)
        squeezed = max(1, int(cin * 0.25))
        self._se_reduce = nn.Conv2d(mid, squeezed, 1)
        self._se_expand = nn.Conv2d(squeezed, mid, 1)
        self._project_conv = _SameConv(mid, cout, 1, 1)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, inputs):
        x = inputs
        if hasattr(self, '_expand_conv'):
            x = F.silu(self._bn0(self._expand_conv(x)))
        x = F.silu(self._bn1(self._depthwise_conv(x)))
        s = self._se_expand(F.silu(self._se_reduce(x.mean((2, 3), True))))
        x = self._bn2(self._project_conv(torch.sigmoid(s) * x))
        return x + inputs if self.skip else x


class EfficientNetPytorchLayout(nn.Module):
    """efficientnet_pytorch's EfficientNet-<arch>, its names and shapes."""

    def __init__(self, arch):
        super().__init__()
        width, depth, size, self.taps = ARCHS[arch]
        stem = _filters(32, width)
        self._conv_stem = _SameConv(3, stem, 3, size, 2)
        self._bn0 = _bn(stem)
        size, cin, blocks = math.ceil(size / 2), stem, []
        for k, s, c, e, r in STAGES:
            c = _filters(c, width)
            for i in range(int(math.ceil(depth * r))):
                stride = s if i == 0 else 1
                blocks.append(_MBConv(k, stride, cin, c, e, size))
                size, cin = math.ceil(size / stride), c
        self._blocks = nn.ModuleList(blocks)
        head = _filters(1280, width)
        self._conv_head = _SameConv(cin, head, 1, size)
        self._bn1 = _bn(head)
        self._fc = nn.Linear(head, 1000)

    def authors_taps(self, x):
        """The authors' p2..p5: layer0 (stem conv -> BN), then blocks."""
        x = self._bn0(self._conv_stem(x))
        outs = []
        for i, block in enumerate(self._blocks[:self.taps[-1] + 1]):
            x = block(x)
            if i in self.taps:
                outs.append(x)
        return outs


def _reference(arch):
    torch.manual_seed(0)
    model = EfficientNetPytorchLayout(arch)
    for m in model.modules():  # BN statistics of a trained network
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)
    return model.eval()


@pytest.fixture(scope='module')
def converter():
    return load_tool(
        'tools/model_converters/efficientnet_pytorch_to_mmpretrain.py')


def _tapped(arch, checkpoint, **kwargs):
    model = TappedEfficientNet(
        arch,
        stem_act=False,
        norm_cfg=dict(type='BN', eps=1e-3, momentum=0.01),
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.'),
        **kwargs)
    model.init_weights()
    model.eval()  # (MMPretrain's EfficientNet.train returns None)
    return model


@pytest.mark.parametrize('arch', sorted(ARCHS))
def test_converted_weights_give_the_authors_features(arch, converter,
                                                     tmp_path):
    reference = _reference(arch)
    state = reference.state_dict()
    # efficientnet_pytorch's key layout, e.g. for B0 (efficientnet-b0-
    # 355c32eb.pth): block 0 has no expansion, SE convs have biases.
    assert '_blocks.0._expand_conv.weight' not in state
    assert state['_blocks.0._se_reduce.bias'].shape == (8, )
    assert state['_fc.weight'].shape == (1000, _filters(1280, ARCHS[arch][0]))
    src, dst = tmp_path / f'efficientnet-{arch}.pth', tmp_path / 'mm.pth'
    torch.save(state, src)
    assert converter.main([str(src), str(dst)]) == str(dst)
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['arch'] == arch
    assert {'head.fc.weight', 'head.fc.bias'} < set(saved['state_dict'])

    _, _, nominal, _ = ARCHS[arch]
    model = _tapped(arch, str(dst), same_padding_size=nominal)
    x = torch.randn(2, 3, 67, 61)  # any size: the padding is fixed
    with torch.no_grad():
        ours, theirs = model(x), reference.authors_taps(x)
    assert [o.shape for o in ours] == [t.shape for t in theirs]
    for mine, expected in zip(ours, theirs):
        torch.testing.assert_close(mine, expected, rtol=1e-4, atol=1e-5)
    if arch == 'b1':
        # MMPretrain's own padding (for the input's size) differs from
        # theirs in the first 192-channel block, hence same_padding_size.
        dynamic = _tapped(arch, str(dst))
        x = torch.randn(1, 3, 64, 64)
        with torch.no_grad():
            ours, theirs = dynamic(x), reference.authors_taps(x)
        torch.testing.assert_close(ours[2], theirs[2], rtol=1e-4, atol=1e-5)
        assert ours[3].shape == theirs[3].shape
        assert (ours[3] - theirs[3]).abs().max() > 1e-4  # 10 x the atol


def test_converter_checks_what_it_reads(converter):
    state = _reference('b0').state_dict()
    assert converter.infer_arch(state) == 'b0'
    # Older saves without BN counters still give every key.
    no_counters = {
        k: v
        for k, v in state.items() if not k.endswith('num_batches_tracked')
    }
    assert converter.convert(no_counters).keys() == converter.convert(
        state).keys()
    with pytest.raises(KeyError, match="'_blocks.0._extra.weight'"):
        converter.convert(
            dict(state, **{'_blocks.0._extra.weight': torch.zeros(1)}))
    wrong = dict(state)
    wrong['_blocks.3._project_conv.weight'] = torch.zeros(24, 96, 3, 3)
    with pytest.raises(ValueError, match=r'layers\.3\.0\.linear_conv'):
        converter.convert(wrong)
    with pytest.raises(ValueError, match='--arch'):
        converter.infer_arch({'_conv_stem.weight': torch.zeros(1)})
    partial = {k: v for k, v in state.items() if '_blocks.15.' not in k}
    with pytest.raises(ValueError, match='no value for'):
        converter.convert(partial, 'b0')
