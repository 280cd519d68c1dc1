"""Convert efficientnet_pytorch's ImageNet EfficientNet weights to an
MMPretrain EfficientNet checkpoint (which ``TappedEfficientNet`` loads).

The FRSKD authors' segmentation starts from these weights
(``EfficientNet.from_pretrained('efficientnet-b0')`` of the
``efficientnet_pytorch`` package, 0.7.x, in their
``segmentation/utils/efficientdet.py``). The package downloads them from
its GitHub release, e.g. ``efficientnet-b0-355c32eb.pth``,
``efficientnet-b1-f1951068.pth``, ``efficientnet-b2-8bb594d6.pth``: plain
state dicts with the keys of its ``EfficientNet`` module (``_conv_stem``,
``_bn0``, ``_blocks.<i>._expand_conv`` / ``_bn0`` / ``_depthwise_conv`` /
``_bn1`` / ``_se_reduce`` / ``_se_expand`` / ``_project_conv`` / ``_bn2``,
``_conv_head``, ``_bn1``, ``_fc``). Fetch the file yourself (nothing here
downloads) and convert it::

    python tools/model_converters/efficientnet_pytorch_to_mmpretrain.py \\
        efficientnet-b0-355c32eb.pth checkpoints/efficientnet-b0_mmpretrain.pth

The output is an MMPretrain ``ImageClassifier`` state dict
(``backbone.layers.*`` for MMPretrain's ``EfficientNet(arch)``,
``head.fc.*`` for the 1000-class classifier) under ``state_dict``. Point a
config at it with::

    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', prefix='backbone.',
        checkpoint='checkpoints/efficientnet-b0_mmpretrain.pth')))

The arch (b0..b8) is read from the file (number of blocks, head width) or
given with ``--arch``; every converted tensor's shape is checked against
MMPretrain's model of that arch. The AdvProp weights (``adv-efficientnet-*``)
convert too, but expect inputs scaled to [-1, 1], not ImageNet mean/std.
"""
import argparse
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from torch import Tensor

#: (blocks, head channels) of efficientnet_pytorch's (and MMPretrain's)
#: EfficientNet-B0..B8.
ARCH_SHAPES = {
    (16, 1280): 'b0',
    (23, 1280): 'b1',
    (23, 1408): 'b2',
    (26, 1536): 'b3',
    (32, 1792): 'b4',
    (39, 2048): 'b5',
    (45, 2304): 'b6',
    (55, 2560): 'b7',
    (61, 2816): 'b8'
}
#: Block module -> MMPretrain's (ConvModule, its part).
BLOCK_PARTS = {
    '_expand_conv': 'expand_conv.conv',
    '_bn0': 'expand_conv.bn',
    '_depthwise_conv': 'depthwise_conv.conv',
    '_bn1': 'depthwise_conv.bn',
    '_se_reduce': 'se.conv1.conv',
    '_se_expand': 'se.conv2.conv',
    '_project_conv': 'linear_conv.conv',
    '_bn2': 'linear_conv.bn',
}
BN_BUFFERS = ('running_mean', 'running_var', 'num_batches_tracked')
BLOCK_KEY = re.compile(r'^_blocks\.(\d+)\.(\w+)\.(\w+)$')


def infer_arch(state_dict: Dict[str, Tensor]) -> str:
    """The arch of an efficientnet_pytorch state dict, from its number of
    blocks and the width of its head conv."""
    blocks = {int(m.group(1)) for m in map(BLOCK_KEY.match, state_dict) if m}
    head = state_dict.get('_conv_head.weight')
    key = (len(blocks), None if head is None else head.shape[0])
    if key not in ARCH_SHAPES:
        raise ValueError(
            f'{key[0]} blocks and a {key[1]}-channel head are not an '
            "efficientnet_pytorch EfficientNet-B0..B8 state dict (expected "
            f'one of {sorted(ARCH_SHAPES)}); pass --arch to force one.')
    return ARCH_SHAPES[key]


def mmpretrain_layout(arch: str) -> Tuple[List[Tuple[int, int]], int, dict]:
    """MMPretrain's ``EfficientNet(arch)``: (layer, block) of each block in
    network order, the index of its 1x1 head conv layer, and the shape of
    each state-dict entry."""
    from mmpretrain.models import EfficientNet
    model = EfficientNet(arch)
    blocks = [(i, j) for i in range(1,
                                    len(model.layers) - 1)
              for j in range(len(model.layers[i]))]
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    return blocks, len(model.layers) - 1, shapes


def _renamed(key: str, blocks: List[Tuple[int, int]], head_layer: int) -> str:
    """The MMPretrain ImageClassifier key of an efficientnet_pytorch key."""
    match = BLOCK_KEY.match(key)
    if match:
        index, module, name = int(match.group(1)), match.group(2), \
            match.group(3)
        if index >= len(blocks) or module not in BLOCK_PARTS:
            raise KeyError(key)
        layer, block = blocks[index]
        return (f'backbone.layers.{layer}.{block}.{BLOCK_PARTS[module]}.'
                f'{name}')
    top = {
        '_conv_stem': 'backbone.layers.0.conv',
        '_bn0': 'backbone.layers.0.bn',
        '_conv_head': f'backbone.layers.{head_layer}.conv',
        '_bn1': f'backbone.layers.{head_layer}.bn',
        '_fc': 'head.fc'
    }
    module, _, name = key.partition('.')
    if module not in top or '.' in name:
        raise KeyError(key)
    return f'{top[module]}.{name}'


def _with_bn_counters(
        state_dict: Dict[str, Tensor]) -> Iterator[Tuple[str, Tensor]]:
    """The items, plus a zero ``num_batches_tracked`` for each BN whose file
    has none (older saves), so that no key is missing on load."""
    for key, value in state_dict.items():
        yield key, value
        if key.endswith('.running_var'):
            counter = key[:-len('running_var')] + 'num_batches_tracked'
            if counter not in state_dict:
                yield counter, torch.tensor(0, dtype=torch.long)


def convert(state_dict: Dict[str, Tensor],
            arch: Optional[str] = None) -> 'OrderedDict[str, Tensor]':
    """Rename an efficientnet_pytorch EfficientNet state dict to MMPretrain's
    ``ImageClassifier(backbone=EfficientNet(arch), head=LinearClsHead)``.

    Args:
        state_dict (dict[str, Tensor]): efficientnet_pytorch's keys.
        arch (str, optional): 'b0'..'b8'; None infers it.

    Returns:
        OrderedDict[str, Tensor]: ``backbone.*`` and ``head.fc.*``.

    Raises:
        KeyError: A key that is not efficientnet_pytorch's.
        ValueError: A tensor whose shape is not MMPretrain's for ``arch``,
            or a parameter of that model that the file lacks.
    """
    arch = arch or infer_arch(state_dict)
    blocks, head_layer, shapes = mmpretrain_layout(arch)
    converted = OrderedDict()
    for key, value in _with_bn_counters(state_dict):
        try:
            converted[_renamed(key, blocks, head_layer)] = value
        except KeyError:
            raise KeyError(
                f'{key!r} is not a key of efficientnet_pytorch\'s '
                f'EfficientNet-{arch.upper()} state dict.') from None
    expected = {'backbone.' + k: v for k, v in shapes.items()}
    for key, value in converted.items():
        if key.startswith('backbone.') and expected.get(key) != value.shape:
            raise ValueError(
                f'{key} has shape {tuple(value.shape)}; MMPretrain\'s '
                f'EfficientNet-{arch} expects '
                f'{expected.get(key, "no such key")}.')
    missing = sorted(set(expected) - set(converted))
    if missing:
        raise ValueError(f'the file has no value for {missing[:5]} '
                         f'({len(missing)} missing) of EfficientNet-{arch}.')
    return converted


def main(argv: Optional[List[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help="efficientnet_pytorch's .pth file")
    parser.add_argument('dst', help='the MMPretrain checkpoint to write')
    parser.add_argument(
        '--arch',
        choices=sorted(ARCH_SHAPES.values()),
        help='default: read from the file')
    args = parser.parse_args(argv)
    source = torch.load(args.src, map_location='cpu', weights_only=True)
    if isinstance(source, dict) and 'state_dict' in source:
        source = source['state_dict']
    arch = args.arch or infer_arch(source)
    converted = convert(source, arch)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(
        dict(
            state_dict=converted,
            meta=dict(
                arch=arch,
                source=osp.basename(args.src),
                converter=osp.basename(__file__))), args.dst)
    print(f'EfficientNet-{arch}: {len(converted)} tensors -> {args.dst}')
    return args.dst


if __name__ == '__main__':
    main()
