"""TensorFlow's 'same' padding fixed for one nominal input size, as
``efficientnet_pytorch`` pads the ImageNet EfficientNets it builds."""
import math
from typing import Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks import Conv2dAdaptivePadding
from torch import Tensor

Size = Union[int, Sequence[int]]


def same_padding(size: int,
                 kernel: int,
                 stride: int,
                 dilation: int = 1) -> Tuple[int, int]:
    """TF 'same' padding of one axis: (before, after), the extra pixel
    after, so that the output has ``ceil(size / stride)`` pixels."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class StaticSamePadConv2d(nn.Conv2d):
    """``nn.Conv2d`` that pads every input with the 'same' padding of one
    fixed input size, whatever the size it gets.

    ``efficientnet_pytorch`` (0.7.x, ``Conv2dStaticSamePadding``) builds its
    pretrained EfficientNets like this, for the arch's nominal resolution
    (224 for B0, 240 for B1, 260 for B2). At another input size the padding
    can differ from the 'same' padding of that size (mmcv's
    ``Conv2dAdaptivePadding``) in strided convs, by one pixel before.

    Args:
        *args: ``nn.Conv2d``'s (``padding`` is ignored).
        image_size (int | Sequence[int]): The size (H, W) the padding is
            computed for: this conv's input size in the nominal network.
        **kwargs: ``nn.Conv2d``'s.
    """

    def __init__(self, *args, image_size: Size, **kwargs) -> None:
        kwargs['padding'] = 0
        super().__init__(*args, **kwargs)
        h, w = _pair(image_size)
        top, bottom = same_padding(h, self.kernel_size[0], self.stride[0],
                                   self.dilation[0])
        left, right = same_padding(w, self.kernel_size[1], self.stride[1],
                                   self.dilation[1])
        #: (left, right, top, bottom), as ``F.pad`` takes it.
        self.static_padding = (left, right, top, bottom)

    def forward(self, x: Tensor) -> Tensor:
        if any(self.static_padding):
            x = F.pad(x, self.static_padding)
        return super().forward(x)


def _pair(size: Size) -> Tuple[int, int]:
    return (size, size) if isinstance(size, int) else tuple(size)


def use_static_same_padding(module: nn.Module, image_size: Size) -> int:
    """Replace every ``Conv2dAdaptivePadding`` of ``module`` by a
    :class:`StaticSamePadConv2d` for the input size it sees in a network
    whose input is ``image_size``, keeping its parameters.

    The convs are visited in registration order, which must be the forward
    order (true of MMPretrain's EfficientNet); each strided conv divides the
    size the next ones see, rounding up.

    Args:
        module (nn.Module): The network.
        image_size (int | Sequence[int]): Its nominal input size.

    Returns:
        int: The number of convs replaced.
    """
    h, w = _pair(image_size)
    replaced = 0
    for parent in list(module.modules()):
        for name, conv in list(parent.named_children()):
            if not isinstance(conv, Conv2dAdaptivePadding):
                continue
            static = StaticSamePadConv2d(
                conv.in_channels,
                conv.out_channels,
                conv.kernel_size,
                stride=conv.stride,
                dilation=conv.dilation,
                groups=conv.groups,
                bias=conv.bias is not None,
                image_size=(h, w))
            static.weight = conv.weight
            static.bias = conv.bias
            setattr(parent, name, static)
            h, w = math.ceil(h / conv.stride[0]), math.ceil(w / conv.stride[1])
            replaced += 1
    return replaced
