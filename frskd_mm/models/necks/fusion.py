"""Building blocks of the FRSKD self-teacher (a BiFPN, Tan et al., CVPR 2020).

The block structure follows the authors' FRSKD implementation: 1x1
``conv-BN-ReLU`` for laterals and resampling (mmcv ``ConvModule``),
depthwise-separable 3x3 blocks after each fusion (mmcv
``DepthwiseSeparableConvModule``) and fast normalized fusion of ReLU-ed
inputs. The convs keep PyTorch's default initialisation
(:class:`~frskd_mm.models.utils.TorchInitConv2d`). Three hand-written parts
are kept because they are faster than the plain expressions: the fused
weighted sum (:func:`weighted_sum`), the 1x1 conv before a 2x upsampling
(:class:`Resample`) and the 'same' max pooling without a padded copy
(:func:`max_pool_same`). The test
``tests/test_models/test_necks/test_neck_reference.py`` proves that they
compute the plain formula, values and gradients.
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from torch import Tensor

from ..utils import TORCH_INIT_CONV, LegacyKeysMixin, conv_module_key_map

#: BatchNorm, as in the paper; ``dict(type='SyncBN')`` syncs it across GPUs.
DEFAULT_NORM_CFG = dict(type='BN')


def conv1x1_norm_relu(in_channels: int,
                      out_channels: int,
                      norm_cfg: Optional[dict] = None) -> ConvModule:
    """``1x1 conv (no bias) -> norm -> ReLU``, changing the channel count.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        norm_cfg (dict, optional): Normalisation layer (mmcv names: BN,
            SyncBN, GN, ...). Defaults to BN.

    Returns:
        ConvModule: Maps (N, in_channels, H, W) to (N, out_channels, H, W).
    """
    return ConvModule(
        in_channels,
        out_channels,
        1,
        bias=False,
        conv_cfg=TORCH_INIT_CONV,
        norm_cfg=norm_cfg or DEFAULT_NORM_CFG)


class SeparableConvBlock(LegacyKeysMixin, nn.Sequential):
    """``depth`` depthwise-separable 3x3 convolutions with norm.

    Each is an mmcv ``DepthwiseSeparableConvModule``: ``dw3x3 -> pw1x1 ->
    norm``, no bias, followed by ReLU except after the last, i.e. ``[dw3x3,
    pw1x1, norm]`` then ``depth - 1`` times ``[ReLU, dw3x3, pw1x1, norm]``
    as in the authors' ``DepthConvBlock``; the output is not activated.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        depth (int): Number of separable convolutions (>= 1).
        norm_cfg (dict, optional): Normalisation layer. Defaults to BN.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 depth: int,
                 norm_cfg: Optional[dict] = None) -> None:
        if depth < 1:
            raise ValueError(f'depth must be >= 1, got {depth}.')
        super().__init__(*(DepthwiseSeparableConvModule(
            in_channels if i == 0 else out_channels,
            out_channels,
            3,
            padding=1,
            bias=False,
            conv_cfg=TORCH_INIT_CONV,
            norm_cfg=norm_cfg or DEFAULT_NORM_CFG,
            act_cfg=dict(type='ReLU') if i < depth - 1 else None,
            dw_norm_cfg=None,
            dw_act_cfg=None) for i in range(depth)))

    def _legacy_key_map(self) -> Dict[str, str]:
        """Version 1 was one ``nn.Sequential``: block i's depthwise conv,
        pointwise conv and norm at positions 4i, 4i + 1 and 4i + 2."""
        mapping = {}
        for i, block in enumerate(self):
            mapping.update(
                conv_module_key_map(block.depthwise_conv,
                                    f'{i}.depthwise_conv.', f'{4 * i}.'))
            mapping.update(
                conv_module_key_map(block.pointwise_conv,
                                    f'{i}.pointwise_conv.', f'{4 * i + 1}.',
                                    f'{4 * i + 2}.'))
        return mapping


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

    def __init__(self,
                 num_inputs: int,
                 channels: int,
                 depth: int,
                 eps: float = 1e-6,
                 norm_cfg: Optional[dict] = None) -> None:
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


_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """``(a * b).sum()`` without materialising ``a * b``: one BLAS dot
    over the memory of two equally laid out maps (fp32 accumulation).
    Under autocast ``a`` and ``b`` may differ in dtype (a float32 input
    fused with a half one): both are then taken to float32."""
    if a.dtype != b.dtype or a.dtype in _LOW_PRECISION:
        a, b = a.float(), b.float()
    if a.is_contiguous() and b.is_contiguous():
        return torch.dot(a.reshape(-1), b.reshape(-1))
    cl = torch.channels_last
    if a.dim() == 4 and a.is_contiguous(memory_format=cl) and \
            b.is_contiguous(memory_format=cl):
        return torch.dot(
            a.permute(0, 2, 3, 1).reshape(-1),
            b.permute(0, 2, 3, 1).reshape(-1))
    return (a * b).sum()


class _WeightedSum(torch.autograd.Function):
    """``sum_k w_k * x_k`` with a lean backward.

    Hand-written because it is faster than the plain expression (measured
    in docs/benchmark.md), for which there is no mmcv part: autograd's own
    backward computes ``d/dw_k = sum(grad * x_k)`` by materialising
    ``grad * x_k`` and then summing it; here it is one dot product, a single
    read of both maps. The forward accumulates in place into one new tensor.

    Under ``torch.autocast`` the inputs may mix dtypes (e.g. float32 maps
    that bypassed every autocast op, fused with half-precision conv
    outputs); the output then has the promoted dtype, as the plain
    expression's, and the backward takes every dot product in float32.
    Autocast casts none of the ops here (``mul`` and in-place ``addcmul_``
    are on none of its lists; ``dot`` only promotes to the widest operand
    on CUDA, and its operands have one dtype), so the Function needs no
    ``custom_fwd``/``custom_bwd``; autograd casts each input's gradient to
    that input's dtype.
    """

    @staticmethod
    def forward(ctx, weights: Tensor, *inputs: Tensor) -> Tensor:
        first = inputs[0]
        dtype = first.dtype
        for x in inputs[1:]:
            if x.dtype != dtype:
                dtype = torch.promote_types(dtype, x.dtype)
        out = (first if first.dtype == dtype else first.to(dtype)) * \
            weights[0]
        for k in range(1, len(inputs)):
            out.addcmul_(inputs[k], weights[k])
        ctx.save_for_backward(weights, *inputs)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        weights, *inputs = ctx.saved_tensors
        grad_weights = None
        if ctx.needs_input_grad[0]:
            grad_weights = torch.stack([_dot(grad, x)
                                        for x in inputs]).to(weights.dtype)
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
    ``ceil_mode`` covering the bottom/right on even sides. Kept hand-written
    because it is faster than padding first (as the authors'
    ``MaxPool2dStaticSamePadding`` does): no padded copy of ``x`` is
    written and read again.

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


class Resample(LegacyKeysMixin, nn.Module):
    """Resize a ReLU-ed map to the target level, then 1x1 conv-BN-ReLU.

    For an exact 2x nearest upsampling the 1x1 conv, BN and ReLU run before
    the upsampling, on a quarter of the pixels: all three act per pixel, and
    replicating every pixel four times leaves the batch mean and (biased)
    variance of BN unchanged, so the output is the same. This order is kept
    because it is faster (a quarter of the conv and norm work, forward and
    backward) than the plain resize-then-convolve.

    Without the conv (``with_conv=False``, equal widths) it only resizes,
    as the authors' uniform-width ``BiFPN`` does (nearest 2x up, 3x3/2
    'same' max pooling down).

    Args:
        in_channels (int): Channels of the source level.
        out_channels (int): Channels of the target level.
        norm_cfg (dict, optional): Normalisation layer. Defaults to BN.
        with_conv (bool): Build the 1x1 conv-BN-ReLU. Defaults to True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 norm_cfg: Optional[dict] = None,
                 with_conv: bool = True) -> None:
        super().__init__()
        if not with_conv and in_channels != out_channels:
            raise ValueError(
                'A resampling without conv keeps the channels: the levels '
                f'have {in_channels} and {out_channels}. Use equal widths '
                "(FRSKDNeck's out_channels) or resample_conv=True.")
        self.conv = conv1x1_norm_relu(in_channels, out_channels,
                                      norm_cfg) if with_conv else None

    def _legacy_key_map(self) -> Dict[str, str]:
        """Version 1: ``conv`` was ``nn.Sequential(conv, norm, ReLU)``."""
        if self.conv is None:
            return {}
        return conv_module_key_map(self.conv, 'conv.', 'conv.0.', 'conv.1.')

    def forward(self, x: Tensor, size: Tuple[int, int]) -> Tensor:
        """Args:
            x (Tensor): The source level after ReLU, (N, C_in, H, W).
            size (tuple[int, int]): The target level's (H', W').

        Returns:
            Tensor: (N, C_out, H', W'), non-negative.
        """
        if self.conv is None:
            return resize_to(x, size)
        h, w = x.shape[-2:]
        if (2 * h, 2 * w) == tuple(size):
            return F.interpolate(
                self.conv(x), scale_factor=2.0, mode='nearest')
        return self.conv(resize_to(x, size))
