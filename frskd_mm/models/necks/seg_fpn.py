"""The FPN of the authors' FRSKD segmentation code (Ji et al., CVPR 2021;
``segmentation/utils/efficientdet.py``, ``EfficientDet``)."""
import warnings
from typing import Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from frskd_mm.registry import MODELS
from ..utils import TORCH_INIT_CONV


def _conv_norm_relu(in_channels: int, out_channels: int, kernel_size: int,
                    stride: int, norm_cfg: Optional[dict]) -> ConvModule:
    """``conv (with bias) -> norm -> ReLU``, the authors' ``Conv`` block."""
    with warnings.catch_warnings():  # their conv has a bias before the BN
        warnings.filterwarnings('ignore', 'Unnecessary conv bias')
        return ConvModule(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            bias=True,
            conv_cfg=TORCH_INIT_CONV,
            norm_cfg=norm_cfg)


@MODELS.register_module()
class SegFPN(nn.Module):
    """The authors' FPN from four backbone levels C2..C5 to P2..P7.

    Each conv is the authors' ``Conv`` block, ``conv (with bias) -> norm ->
    ReLU``; with ``L_k`` the 1x1 lateral of ``C_k`` and ``up`` bilinear
    interpolation (``align_corners=False``) to the finer level's size:

    - ``P5 = L_5`` (their ``toplayer``);
    - ``P_k = up(P_{k+1}) + L_k`` for k = 4, 3, 2 (their ``latlayer1..3``
      and ``_upsample_add``; the sum is not activated);
    - ``P6 = conv3x3/2(C5)`` and ``P7 = conv3x3/2(P6)`` (their ``conv6``,
      ``conv7``), padding 1.

    The authors' ``smooth1``/``smooth2`` 3x3 blocks are built but never used
    in their forward: they are not built here.

    Args:
        in_channels (Sequence[int]): Channels of C2, C3, C4, C5 (e.g. 24,
            40, 80, 320 for their EfficientNet-B0/B1 taps).
        out_channels (int): Width of P2..P7 (theirs: 64 for B0, 88 for B1).
        norm_cfg (dict): Normalisation layer of every conv. Defaults to the
            authors' ``dict(type='BN', eps=1e-4, momentum=0.997)`` (note:
            PyTorch's momentum convention, so running statistics follow the
            last batch almost entirely, as in their code).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        norm_cfg: Optional[dict] = dict(type='BN', eps=1e-4, momentum=0.997)
    ) -> None:
        super().__init__()
        in_channels = list(in_channels)
        if len(in_channels) != 4 or not all(
                isinstance(c, int) and c > 0 for c in in_channels):
            raise ValueError(
                'SegFPN.in_channels must list the channels of the 4 backbone '
                f'levels C2, C3, C4, C5 as positive ints, got {in_channels}.')
        if not isinstance(out_channels, int) or out_channels <= 0:
            raise ValueError('SegFPN.out_channels must be a positive int, '
                             f'got {out_channels!r}.')
        self.in_channels = in_channels
        self.out_channels = out_channels
        # C2..C5 -> 1x1 laterals (their latlayer3, latlayer2, latlayer1,
        # toplayer).
        self.lateral_convs = nn.ModuleList(
            _conv_norm_relu(c, out_channels, 1, 1, norm_cfg)
            for c in in_channels)
        # P6 from C5, P7 from P6 (their conv6, conv7).
        self.extra_convs = nn.ModuleList([
            _conv_norm_relu(in_channels[-1], out_channels, 3, 2, norm_cfg),
            _conv_norm_relu(out_channels, out_channels, 3, 2, norm_cfg)
        ])

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Args:
            inputs (Sequence[Tensor]): C2..C5, C_k of shape
                (N, in_channels[k - 2], H_k, W_k).

        Returns:
            tuple[Tensor]: P2..P7 of shape (N, out_channels, H_k, W_k), with
            H_k = H_5 for P5 and, for P6 and P7, ``(H + 1) // 2`` of the
            level below (P2..P4 have the sizes of C2..C4).
        """
        if len(inputs) != 4:
            raise ValueError('SegFPN takes the 4 backbone levels C2..C5, got '
                             f'{len(inputs)} inputs.')
        channels = [int(x.shape[1]) for x in inputs]
        if channels != self.in_channels:
            raise ValueError(f'SegFPN expects {self.in_channels} input '
                             f'channels (C2..C5), got {channels}.')
        outs = [self.lateral_convs[3](inputs[3])]
        for k in (2, 1, 0):
            lateral = self.lateral_convs[k](inputs[k])
            outs.insert(
                0,
                F.interpolate(
                    outs[0],
                    size=lateral.shape[-2:],
                    mode='bilinear',
                    align_corners=False) + lateral)
        p6 = self.extra_convs[0](inputs[3])
        p7 = self.extra_convs[1](p6)
        return tuple(outs) + (p6, p7)
