"""The BiFPN layer of the authors' FRSKD segmentation code (Ji et al., CVPR
2021; ``segmentation/utils/BiFPN.py``, ``BiFPNSeg``)."""
import warnings
from typing import List, Optional, Sequence

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from frskd_mm.registry import MODELS
from ..utils import TORCH_INIT_CONV

#: The authors' nodes use BatchNorm with PyTorch's defaults.
DEFAULT_NORM_CFG = dict(type='BN')


def seg_bifpn_node(channels: int,
                   norm_cfg: Optional[dict] = None) -> ConvModule:
    """One node of the authors' segmentation BiFPN: ``depthwise 1x1 conv
    (groups=channels, with bias) -> norm -> ReLU``.

    Args:
        channels (int): Width C of the node's input and output.
        norm_cfg (dict, optional): Normalisation layer. Defaults to BN.

    Returns:
        ConvModule: Maps (N, C, H, W) to (N, C, H, W).
    """
    with warnings.catch_warnings():  # their conv has a bias before the BN
        warnings.filterwarnings('ignore', 'Unnecessary conv bias')
        return ConvModule(
            channels,
            channels,
            1,
            groups=channels,
            bias=True,
            conv_cfg=TORCH_INIT_CONV,
            norm_cfg=norm_cfg or DEFAULT_NORM_CFG)


@MODELS.register_module()
class SegBiFPNLayer(nn.Module):
    """The authors' segmentation BiFPN layer (``BiFPNSeg``) over n levels.

    With inputs ``x_1..x_n`` (finest to coarsest, one width C) and ``node``
    a depthwise 1x1 conv (with bias), norm and ReLU, as in the authors'
    code:

    - top-down: ``u_n = node(x_n)`` (the top node reads its input alone);
      ``u_i = node(x_i + up(u_{i+1}))`` for i = n-1..1 (plain sums, no
      fusion weights);
    - bottom-up: ``o_1 = u_1``; ``o_i = node(x_i + u_i + down(o_{i-1}))``
      for i = 2..n (the top level too);
    - the layer returns ``(o_1, ..., o_n)``; without the bottom-up path
      (``bottom_up=False``, the authors' ``is_last``) it returns
      ``(u_1, ..., u_n)``, i.e. their ``(P2_out, P3_up, ..., P7_up)``.

    ``up`` is bilinear interpolation (``align_corners=False``) to the finer
    level's size. The authors upsample by the scale factor ``W_i /
    W_{i+1}``; for the power-of-two sizes they train on (factor 2, or 1 at
    1x1) both give the same values, and resizing to the size also works for
    odd sizes. ``down`` is nearest interpolation to the coarser level's
    size, as theirs. The authors' class also builds two 3x3 ``Conv``
    blocks (``smooth1``/``smooth2``) that its forward never uses: they are
    not built here. A full layer has 2n - 1 nodes (11 for their 6 levels),
    one without the bottom-up path n (6).

    Args:
        in_channels (Sequence[int]): Channels of the n >= 2 input levels;
            all equal to C.
        out_channels (Sequence[int]): Channels of the n outputs; must equal
            ``in_channels`` (the authors' layer has no laterals).
        with_lateral (bool): Accepted for
            :class:`~frskd_mm.models.necks.FRSKDNeck`'s layer interface; it
            has no effect (there are no laterals to apply).
        bottom_up (bool): Build the bottom-up path. False is the authors'
            last layer (``is_last=True``). Defaults to True.
        norm_cfg (dict, optional): Normalisation layer of every node.
            Defaults to ``dict(type='BN')`` (PyTorch's defaults, as theirs).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Sequence[int],
                 with_lateral: bool = True,
                 bottom_up: bool = True,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        in_channels, out_channels = list(in_channels), list(out_channels)
        n = len(out_channels)
        if n < 2:
            raise ValueError(
                f'SegBiFPNLayer needs >= 2 levels, got out_channels='
                f'{out_channels}.')
        if in_channels != out_channels or len(set(out_channels)) != 1:
            raise ValueError(
                'SegBiFPNLayer (the authors\' segmentation BiFPN layer) has '
                'no laterals and one width: in_channels and out_channels '
                'must list the same width C for every level, got '
                f'in_channels={in_channels}, out_channels={out_channels}. '
                'Use it over a neck whose levels all have C channels, e.g. '
                "FRSKDNeck(width=1, neck=dict(type='SegBiFPN', ...)).")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.with_lateral = with_lateral
        self.bottom_up = bottom_up
        channels = out_channels[0]
        # Level i (0 = finest): the authors' conv{i + 2}up.
        self.top_down_nodes = nn.ModuleList(
            seg_bifpn_node(channels, norm_cfg) for _ in range(n))
        # Level i + 1: the authors' conv{i + 3}dw.
        self.bottom_up_nodes = nn.ModuleList(
            seg_bifpn_node(channels, norm_cfg)
            for _ in range(n - 1)) if bottom_up else None

    def forward(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        """Args:
            inputs (Sequence[Tensor]): n maps, level i of shape
                (N, C, H_i, W_i), finest first.

        Returns:
            list[Tensor]: n maps of the input shapes: ``o_1..o_n``, or
            ``u_1..u_n`` without the bottom-up path.
        """
        n = len(self.out_channels)
        if len(inputs) != n:
            raise ValueError(f'SegBiFPNLayer was built for {n} levels, got '
                             f'{len(inputs)} inputs.')
        channels = [int(x.shape[1]) for x in inputs]
        if channels != self.in_channels:
            raise ValueError(f'SegBiFPNLayer expects {self.in_channels} '
                             f'input channels, got {channels}.')
        up = [None] * n
        up[-1] = self.top_down_nodes[-1](inputs[-1])
        for i in range(n - 2, -1, -1):
            coarse = F.interpolate(
                up[i + 1],
                size=inputs[i].shape[-2:],
                mode='bilinear',
                align_corners=False)
            up[i] = self.top_down_nodes[i](inputs[i] + coarse)
        if not self.bottom_up:
            return up
        outs = [up[0]]
        for i in range(1, n):
            fine = F.interpolate(
                outs[-1], size=inputs[i].shape[-2:], mode='nearest')
            outs.append(self.bottom_up_nodes[i - 1](inputs[i] + up[i] + fine))
        return outs
