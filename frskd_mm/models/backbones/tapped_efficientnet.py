"""MMPretrain's EfficientNet tapped after single blocks, as the authors'
FRSKD segmentation code taps its EfficientNet (Ji et al., CVPR 2021;
``segmentation/utils/efficientdet.py``)."""
import logging
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log
from mmengine.model import Sequential
from mmpretrain.models.backbones import EfficientNet
from torch import Tensor

from frskd_mm.registry import MODELS
from ..utils import use_static_same_padding

#: A tap: (index in ``self.layers``, block index inside that layer).
Tap = Tuple[int, int]
#: The converter of the authors' ImageNet weights.
CONVERTER = 'tools/model_converters/efficientnet_pytorch_to_mmpretrain.py'


@MODELS.register_module()
class TappedEfficientNet(EfficientNet):
    """EfficientNet returning the outputs of chosen blocks.

    ``out_blocks`` names blocks as ``(layer, block)``: ``layer`` indexes
    MMPretrain's ``self.layers`` (0 is the stem, 1..5 the block stages,
    6 the 1x1 head conv) and ``block`` the block inside that layer
    (negative counts from its end). The default taps are the authors': the
    first block of the stride-4, -8 and -16 stages and the last block, at
    strides 4, 8, 16 and 32. Their EfficientDet slices
    ``efficientnet_pytorch``'s block list (16 blocks for B0, repeats
    ``[1, 2, 2, 3, 3, 4, 1]``; 23 for B1 and B2, repeats ``ceil(1.1 r)`` =
    ``ceil(1.2 r)`` = ``[2, 3, 3, 4, 4, 5, 2]``) after blocks 1, 3, 5, 15
    (B0) and 2, 5, 8, 22 (B1, B2): those are the same blocks
    (``layers.2.0``, ``layers.3.0``, ``layers.4.0``, ``layers.5.-1``), and
    MMPretrain builds the blocks in the same order with the same shapes.
    The taps have 24/40/80/320 channels for B0 and B1, 24/48/88/352 for
    B2. The second block of the tapped stages runs on the way to the next
    tap.

    The layers after the last tap (by default the 1x1 conv to 1280
    channels, which the authors never use), and the blocks after it in its
    layer, are not kept, and the forward stops at the last tap. The
    parameter names are MMPretrain's, so an MMPretrain EfficientNet
    checkpoint loads with ``init_cfg=dict(type='Pretrained', checkpoint=...,
    prefix='backbone.')``; that load is not strict and skips the removed
    layers' keys (by default ``layers.6.conv.weight`` and ``layers.6.bn.*``;
    the checkpoint's ``head.*`` lies outside the prefix). The authors'
    ImageNet weights (``efficientnet_pytorch``'s) become such a checkpoint
    with ``tools/model_converters/efficientnet_pytorch_to_mmpretrain.py``.
    Without a ``'Pretrained'`` entry in ``init_cfg``, :meth:`init_weights`
    warns once per process that the backbone starts from random weights.

    The authors' stem is ``conv -> BN`` without the Swish (their ``layer0``
    leaves out ``efficientnet_pytorch``'s ``_swish``): ``stem_act=False``
    reproduces it. Their BatchNorm momentum is 0.01 (set
    ``norm_cfg=dict(type='BN', eps=1e-3, momentum=0.01)`` to match it).
    ``efficientnet_pytorch`` pads with the 'same' padding of the arch's
    nominal resolution (224 for B0, 240 for B1, 260 for B2) whatever the
    input size; MMPretrain pads for the actual input. At 512x512 the two
    agree for B0; for B1 one conv differs (the first 192-channel block's
    stride-2 5x5: (2, 2) instead of (1, 2)), for B2 three. Set
    ``same_padding_size`` to the nominal resolution to pad as theirs. They
    call the blocks without drop connect, like the default
    ``drop_path_rate=0`` here.

    Args:
        arch (str): MMPretrain's EfficientNet arch. Defaults to 'b0'.
        out_blocks (Sequence[tuple[int, int]]): The ``(layer, block)`` taps,
            in network order. Defaults to the authors' taps.
        stem_act (bool): Apply the stem's activation (Swish), as
            EfficientNet does. False is the authors' segmentation backbone.
            Defaults to True.
        same_padding_size (int | Sequence[int], optional): Pad every conv
            with the fixed 'same' padding of this input size (H, W), as
            ``efficientnet_pytorch`` does for its nominal resolution
            (:class:`~frskd_mm.models.utils.StaticSamePadConv2d`); None pads
            each input for its own size (MMPretrain). Defaults to None.
        **kwargs: Other arguments of MMPretrain's ``EfficientNet``
            (``norm_cfg``, ``frozen_stages``, ``init_cfg``, ...) except
            ``out_indices``.

    Shapes:
        input: (N, 3, H, W).
        output: one map per tap; with the defaults (N, C2, H/4, W/4),
        (N, C3, H/8, W/8), (N, C4, H/16, W/16), (N, C5, H/32, W/32)
        (sizes rounded up), C2..C5 as above.
    """

    #: Whether the random-weights warning was given in this process.
    _warned_random_init = False

    def __init__(self,
                 arch: str = 'b0',
                 out_blocks: Sequence[Tap] = ((2, 0), (3, 0), (4, 0), (5, -1)),
                 stem_act: bool = True,
                 same_padding_size: Optional[Union[int, Sequence[int]]] = None,
                 **kwargs) -> None:
        if 'out_indices' in kwargs:
            raise TypeError(
                'TappedEfficientNet returns the outputs of single blocks: '
                'set out_blocks=((layer, block), ...) (default the authors\' '
                '((2, 0), (3, 0), (4, 0), (5, -1))) instead of out_indices='
                f"{kwargs['out_indices']!r}.")
        super().__init__(arch=arch, **kwargs)
        self.arch = arch
        self.out_blocks = self._check_out_blocks(out_blocks)
        last_layer, last_block = self.out_blocks[-1]
        if self.frozen_stages > last_layer + 1:
            raise ValueError(
                f'frozen_stages={self.frozen_stages} but only layers 0..'
                f'{last_layer} are built (the last tap is {last_layer}, '
                f'{last_block}).')
        del self.layers[last_layer + 1:]
        self.layers[last_layer] = Sequential(
            *list(self.layers[last_layer])[:last_block + 1])
        #: Channels of each tap's output.
        self.tap_channels = tuple(
            self.layers[i][j].linear_conv.conv.out_channels
            for i, j in self.out_blocks)
        self.out_channels = self.tap_channels[-1]
        self.out_indices = ()  # the taps are out_blocks
        self.stem_act = stem_act
        # The stem is an mmcv ConvModule: conv -> norm -> act.
        self.layers[0].with_activation = stem_act
        self.same_padding_size = same_padding_size
        if same_padding_size is not None:
            use_static_same_padding(self.layers, same_padding_size)

    def _check_out_blocks(self, out_blocks: Sequence[Tap]) -> List[Tap]:
        """Normalise ``out_blocks`` to non-negative indices, with clear
        errors."""
        stages = range(1, len(self.layers) - 1)
        taps = []
        for tap in out_blocks:
            if not (isinstance(tap, (tuple, list)) and len(tap) == 2
                    and all(isinstance(k, int) for k in tap)):
                raise TypeError('TappedEfficientNet.out_blocks must list '
                                f'(layer, block) int pairs, got {tap!r}.')
            layer, block = tap
            if layer not in stages:
                raise ValueError(
                    f'out_blocks layer {layer} is not a block stage: '
                    f'layers {stages.start}..{stages.stop - 1} hold blocks.')
            n = len(self.layers[layer])
            if not -n <= block < n:
                raise ValueError(f'out_blocks {tap}: layer {layer} has {n} '
                                 f'blocks.')
            taps.append((layer, block % n))
        if not taps:
            raise ValueError('TappedEfficientNet.out_blocks is empty.')
        if any(a >= b for a, b in zip(taps, taps[1:])):
            raise ValueError('TappedEfficientNet.out_blocks must be in '
                             f'network order without repeats, got {taps}.')
        return taps

    def init_weights(self) -> None:
        """Initialise as MMPretrain's EfficientNet, or load ``init_cfg``'s
        checkpoint; warn once per process when there is none."""
        if not getattr(self, '_is_init', False) and not _has_pretrained(
                self.init_cfg):
            self._warn_random_init()
        super().init_weights()

    def _warn_random_init(self) -> None:
        if TappedEfficientNet._warned_random_init:
            return
        TappedEfficientNet._warned_random_init = True
        print_log(
            f'TappedEfficientNet (arch {self.arch}) starts from random '
            'weights: model.backbone.init_cfg has no '
            "dict(type='Pretrained', ...). The authors' segmentation, and "
            "the paper's VOC numbers, start from ImageNet weights: convert "
            f"efficientnet_pytorch's file with {CONVERTER} and set "
            "model.backbone.init_cfg=dict(type='Pretrained', "
            "checkpoint=<the converted .pth>, prefix='backbone.') (see "
            'docs/reproducing_the_paper.md). A run that then loads a whole '
            'checkpoint (load_from, --resume) can ignore this.',
            logger='current',
            level=logging.WARNING)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Args:
            x (Tensor): Images, (N, 3, H, W).

        Returns:
            tuple[Tensor]: The taps' outputs, in ``out_blocks`` order.
        """
        taps = set(self.out_blocks)
        outs = []
        x = self.layers[0](x)
        for i in range(1, len(self.layers)):
            for j, block in enumerate(self.layers[i]):
                x = block(x)
                if (i, j) in taps:
                    outs.append(x)
        return tuple(outs)


def _has_pretrained(init_cfg) -> bool:
    """Whether ``init_cfg`` (a dict, a list of them, or None) loads a
    checkpoint."""
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return any(
        isinstance(c, dict) and c.get('type') == 'Pretrained' for c in cfgs)
