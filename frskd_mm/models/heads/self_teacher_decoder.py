"""The self-teacher's light segmentation decoder (FRSKD, Ji et al., 2021)."""
from typing import Dict, Optional, Union

import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from ..utils import TORCH_INIT_CONV, LegacyKeysMixin, conv_module_key_map

#: The authors' normalisation (BatchNorm).
BN = dict(type='BN')


class SelfTeacherDecoder(LegacyKeysMixin, nn.Module):
    """Per-pixel classifier of the self-teacher on one refined level.

    As in the authors' segmentation code: ``conv3x3 (in_channels ->
    channels) -> norm -> ReLU`` (an mmcv ``ConvModule``, ``conv``) then
    ``conv3x3 (channels -> out_channels)`` (``cls``). The authors' first
    conv has a bias before its BN (``bias=True``) and their BN uses
    ``eps=1e-4, momentum=0.997``; the defaults here (no bias before a norm,
    BN defaults) are ours. It runs only in
    training (it is part of the self-teacher and is dropped from the
    exported student).

    Args:
        in_channels (int): Channels d_i of the refined level it decodes.
        out_channels (int): Output channels, the student head's
            ``out_channels`` (num_classes, or 1 for binary segmentation).
        channels (int): Hidden channels. Defaults to 256.
        norm_cfg (dict, optional): Norm layer config (mmcv), e.g.
            ``dict(type='BN')`` or ``dict(type='SyncBN')``; None gives the
            first conv a bias and no norm. Defaults to BN.
        bias (bool | str): Bias of the first conv: ``'auto'`` (only
            without a norm) or a bool. Defaults to ``'auto'``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 channels: int = 256,
                 norm_cfg: Optional[dict] = BN,
                 bias: Union[bool, str] = 'auto') -> None:
        super().__init__()
        for name, value in (('in_channels', in_channels),
                            ('channels', channels), ('out_channels',
                                                     out_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or \
                    value <= 0:
                raise ValueError(f'SelfTeacherDecoder.{name} must be a '
                                 f'positive int, got {value!r}.')
        self.in_channels = in_channels
        self.channels = channels
        self.out_channels = out_channels
        self.conv = ConvModule(
            in_channels,
            channels,
            3,
            padding=1,
            bias=bias,
            conv_cfg=TORCH_INIT_CONV,
            norm_cfg=norm_cfg)
        self.cls = nn.Conv2d(channels, out_channels, 3, padding=1)

    def _legacy_key_map(self) -> Dict[str, str]:
        """Version 1 had the modules ``conv``, ``norm``, ``act``, ``cls``."""
        return conv_module_key_map(self.conv, 'conv.', 'conv.', 'norm.')

    def forward(self, x: Tensor) -> Tensor:
        """Args:
            x (Tensor): A refined level, (N, in_channels, H, W).

        Returns:
            Tensor: Teacher logits, (N, out_channels, H, W).
        """
        return self.cls(self.conv(x))
