"""The student neck of the authors' FRSKD segmentation code (Ji et al., CVPR
2021; ``segmentation/utils/efficientdet.py``: FPN then ``BiFPN1``)."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from torch import Tensor

from frskd_mm.registry import MODELS
from .seg_bifpn_layer import SegBiFPNLayer
from .seg_fpn import SegFPN


@MODELS.register_module()
class SegBiFPN(nn.Module):
    """:class:`SegFPN` then ``num_layers`` full :class:`SegBiFPNLayer` s.

    The authors' student decoder: their FPN gives P2..P7 and ``BiFPN1``, three
    ``BiFPNSeg`` layers with the bottom-up path, refines them; their student
    classifier reads the finest output (see
    :class:`~frskd_mm.models.heads.SegBiFPNHead`, ``in_index=0``). Their
    self-teacher (``BiFPN2``: one full layer then one without the bottom-up
    path) is :class:`~frskd_mm.models.necks.FRSKDNeck` with this neck as
    ``neck``, ``width=1``, ``num_layers=2``,
    ``layer_cfg=dict(type='SegBiFPNLayer')`` and
    ``last_layer_top_down_only=True``.

    A head that reads only P2 leaves the bottom-up nodes of the last layer
    (which make P3..P7) without gradient; in the authors' training the
    self-teacher and the attention loss read those levels. A plain
    ``EncoderDecoder`` with this neck therefore needs
    ``find_unused_parameters=True`` under DDP.

    Args:
        in_channels (Sequence[int]): Channels of the backbone levels C2..C5.
        out_channels (int): Width of every output level (theirs: 64 for
            EfficientNet-B0, 88 for B1).
        num_layers (int): Number of BiFPN layers after the FPN (>= 0).
            Defaults to 3, as theirs.
        fpn_norm_cfg (dict): Normalisation layer of the FPN convs. Defaults
            to theirs, ``dict(type='BN', eps=1e-4, momentum=0.997)``.
        norm_cfg (dict): Normalisation layer of the BiFPN nodes. Defaults to
            theirs, ``dict(type='BN')``.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        num_layers: int = 3,
        fpn_norm_cfg: Optional[dict] = dict(
            type='BN', eps=1e-4, momentum=0.997),
        norm_cfg: Optional[dict] = dict(type='BN')
    ) -> None:
        super().__init__()
        if not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError('SegBiFPN.num_layers must be an int >= 0, got '
                             f'{num_layers!r}.')
        self.fpn = SegFPN(in_channels, out_channels, norm_cfg=fpn_norm_cfg)
        self.in_channels = self.fpn.in_channels
        #: The widths of the 6 outputs P2..P7.
        self.out_channels = [out_channels] * 6
        self.layers = nn.ModuleList(
            SegBiFPNLayer(
                self.out_channels, self.out_channels, norm_cfg=norm_cfg)
            for _ in range(num_layers))

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Args:
            inputs (Sequence[Tensor]): The backbone levels C2..C5,
                C_k of shape (N, in_channels[k - 2], H_k, W_k).

        Returns:
            tuple[Tensor]: 6 maps of shape (N, out_channels, H_k, W_k) at
            the levels P2..P7 of :class:`SegFPN`.
        """
        outs = self.fpn(inputs)
        for layer in self.layers:
            outs = layer(outs)
        return tuple(outs)
