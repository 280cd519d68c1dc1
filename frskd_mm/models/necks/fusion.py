"""Building blocks of the FRSKD self-teacher (a BiFPN, Tan et al., CVPR 2020).

The block structure follows the authors' FRSKD implementation: 1x1
``conv-BN-ReLU`` for laterals and resampling, depthwise-separable 3x3 blocks
after each fusion, and fast normalized fusion of ReLU-ed inputs.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor

#: BatchNorm, as in the paper; ``dict(type='SyncBN')`` syncs it across GPUs.
DEFAULT_NORM_CFG = dict(type='BN')


def norm_layer(norm_cfg: Optional[dict], channels: int) -> nn.Module:
    """The normalisation layer of ``norm_cfg`` (mmcv's names: BN, SyncBN,
    GN, ...) for ``channels`` channels; BN when ``norm_cfg`` is None."""
    return build_norm_layer(norm_cfg or DEFAULT_NORM_CFG, channels)[1]


class ConvBNReLU1x1(nn.Sequential):
    """``1x1 conv (no bias) -> BN -> ReLU``; changes the channel count.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        norm_cfg (dict, optional): Normalisation layer. Defaults to BN.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            norm_layer(norm_cfg, out_channels), nn.ReLU(inplace=True))


class SeparableConvBlock(nn.Sequential):
    """``depth`` depthwise-separable 3x3 convolutions with BN.

    Layout: ``[dw3x3, pw1x1, BN]`` followed by ``depth - 1`` times
    ``[ReLU, dw3x3, pw1x1, BN]``; the output is not activated.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        depth (int): Number of separable convolutions (>= 1).
        norm_cfg (dict, optional): Normalisation layer. Defaults to BN.
    """

    def __init__(self, in_channels: int, out_channels: int, depth: int,
                 norm_cfg: Optional[dict] = None) -> None:
        if depth < 1:
            raise ValueError(f'depth must be >= 1, got {depth}.')
        layers: List[nn.Module] = []
        channels = in_channels
        for i in range(depth):
            if i > 0:
                layers.append(nn.ReLU())
            layers += [
                nn.Conv2d(channels, channels, 3, padding=1, groups=channels,
                          bias=False),
                nn.Conv2d(channels, out_channels, 1, bias=False),
                norm_layer(norm_cfg, out_channels),
            ]
            channels = out_channels
        super().__init__(*layers)


class FusionNode(nn.Module):
    """Fast normalized fusion followed by a separable conv block.

    ``out = block(sum_k w_k * relu(x_k))`` with ``w = relu(v) / (sum relu(v)
    + eps)`` and learnable ``v`` initialised to ones (EfficientDet, Eq. 3).
    The caller applies the ReLU: most inputs are ReLU outputs already, and a
    second ReLU would only cost a pass over the map (forward and backward).

    Args:
        num_inputs (int): Number of fused maps, all of shape (N, C, H, W).
        channels (int): C.
        depth (int): Depth of the separable conv block.
        eps (float): Stabiliser of the normalisation.
        norm_cfg (dict, optional): Normalisation layer. Defaults to BN.
    """

    def __init__(self, num_inputs: int, channels: int, depth: int,
                 eps: float = 1e-6, norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_inputs))
        self.eps = eps
        self.conv = SeparableConvBlock(channels, channels, depth, norm_cfg)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args:
            inputs: The non-negative maps relu(x_k), each (N, C, H, W).

        Returns:
            Tensor: (N, C, H, W).
        """
        w = F.relu(self.weight)
        w = w / (w.sum() + self.eps)
        return self.conv(weighted_sum(inputs, w))


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """``(a * b).sum()`` without materialising ``a * b``: one BLAS dot
    over the memory of two equally laid out maps (fp32 accumulation)."""
    if a.dtype in (torch.float16, torch.bfloat16):
        a, b = a.float(), b.float()
    if a.is_contiguous() and b.is_contiguous():
        return torch.dot(a.reshape(-1), b.reshape(-1))
    cl = torch.channels_last
    if a.dim() == 4 and a.is_contiguous(memory_format=cl) and \
            b.is_contiguous(memory_format=cl):
        return torch.dot(a.permute(0, 2, 3, 1).reshape(-1),
                         b.permute(0, 2, 3, 1).reshape(-1))
    return (a * b).sum()


class _WeightedSum(torch.autograd.Function):
    """``sum_k w_k * x_k`` with a lean backward.

    Autograd's own backward of the same expression computes
    ``d/dw_k = sum(grad * x_k)`` by materialising ``grad * x_k`` and then
    summing it; here it is one dot product, a single read of both maps.
    The forward accumulates in place into one new tensor.
    """

    @staticmethod
    def forward(ctx, weights: Tensor, *inputs: Tensor) -> Tensor:
        out = inputs[0] * weights[0]
        for k in range(1, len(inputs)):
            out.addcmul_(inputs[k], weights[k])
        ctx.save_for_backward(weights, *inputs)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        weights, *inputs = ctx.saved_tensors
        grad_weights = None
        if ctx.needs_input_grad[0]:
            grad_weights = torch.stack([_dot(grad, x) for x in inputs]).to(
                weights.dtype)
        grad_inputs = [
            grad * weights[k] if ctx.needs_input_grad[k + 1] else None
            for k in range(len(inputs))
        ]
        return (grad_weights, *grad_inputs)


def weighted_sum(inputs: Sequence[Tensor], weights: Tensor) -> Tensor:
    """``sum_k weights[k] * inputs[k]`` (the fusion of EfficientDet, Eq. 3).

    Args:
        inputs (Sequence[Tensor]): K maps of equal shape (N, C, H, W).
        weights (Tensor): Shape (K, ).

    Returns:
        Tensor: (N, C, H, W); the same values and gradients as the plain
        expression (the weights' gradients are computed as dot products).
    """
    if len(inputs) != weights.numel():
        raise ValueError(f'{len(inputs)} inputs but {weights.numel()} '
                         'fusion weights.')
    return _WeightedSum.apply(weights, *inputs)


def max_pool_same(x: Tensor) -> Tensor:
    """3x3/2 max pooling with TensorFlow-style static 'same' zero padding.

    'Same' padding puts the odd pixel of padding at the bottom/right. For
    non-negative ``x`` zero padding never wins a maximum, so the result
    equals PyTorch's pooling with one pixel of padding on odd sides and
    ``ceil_mode`` covering the bottom/right on even sides, without copying
    ``x`` into a padded tensor.

    Args:
        x (Tensor): Non-negative maps, shape (N, C, H, W).

    Returns:
        Tensor: Shape (N, C, ceil(H / 2), ceil(W / 2)).
    """
    h, w = x.shape[-2:]
    return F.max_pool2d(x, 3, 2, padding=(h % 2, w % 2), ceil_mode=True)


def resize_to(x: Tensor, size: Tuple[int, int]) -> Tensor:
    """Resize a map to the spatial ``size`` of the level it is fused with.

    Larger maps are reduced with 3x3/2 'same' max pooling when the target is
    exactly half (rounded up), otherwise with adaptive max pooling; smaller
    maps are enlarged with nearest-neighbour upsampling. Equal sizes pass
    through, so backbones with equal-resolution stages (dilated ResNets)
    work too.

    Args:
        x (Tensor): Non-negative maps, shape (N, C, H, W).
        size (tuple[int, int]): Target (H', W').

    Returns:
        Tensor: Shape (N, C, H', W').
    """
    h, w = x.shape[-2:]
    if (h, w) == tuple(size):
        return x
    if h >= size[0] and w >= size[1]:
        if (math.ceil(h / 2), math.ceil(w / 2)) == tuple(size):
            return max_pool_same(x)
        return F.adaptive_max_pool2d(x, size)
    return F.interpolate(x, size=size, mode='nearest')


class Resample(nn.Module):
    """Resize a ReLU-ed map to the target level, then 1x1 conv-BN-ReLU.

    For an exact 2x nearest upsampling the 1x1 conv, BN and ReLU run before
    the upsampling, on a quarter of the pixels: all three act per pixel, and
    replicating every pixel four times leaves the batch mean and (biased)
    variance of BN unchanged, so the output is the same.

    Args:
        in_channels (int): Channels of the source level.
        out_channels (int): Channels of the target level.
        norm_cfg (dict, optional): Normalisation layer. Defaults to BN.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.conv = ConvBNReLU1x1(in_channels, out_channels, norm_cfg)

    def forward(self, x: Tensor, size: Tuple[int, int]) -> Tensor:
        """Args:
            x (Tensor): The source level after ReLU, (N, C_in, H, W).
            size (tuple[int, int]): The target level's (H', W').

        Returns:
            Tensor: (N, C_out, H', W'), non-negative.
        """
        h, w = x.shape[-2:]
        if (2 * h, 2 * w) == tuple(size):
            return F.interpolate(self.conv(x), scale_factor=2.0,
                                 mode='nearest')
        return self.conv(resize_to(x, size))
