"""The self-teacher's light segmentation decoder (FRSKD, Ji et al., 2021)."""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from torch import Tensor


class SelfTeacherDecoder(nn.Module):
    """Per-pixel classifier of the self-teacher on one refined level.

    As in the authors' segmentation code: ``conv3x3 (in_channels ->
    channels, no bias) -> norm -> ReLU -> conv3x3 (channels ->
    out_channels)``. It runs only in training (it is part of the
    self-teacher and is dropped from the exported student).

    Args:
        in_channels (int): Channels d_i of the refined level it decodes.
        channels (int): Hidden channels. Defaults to 256.
        out_channels (int): Output channels, the student head's
            ``out_channels`` (num_classes, or 1 for binary segmentation).
        norm_cfg (dict, optional): Norm layer config (mmcv), e.g.
            ``dict(type='BN')`` or ``dict(type='SyncBN')``. Defaults to BN.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 channels: int = 256,
                 norm_cfg: Optional[dict] = dict(type='BN')) -> None:
        super().__init__()
        for name, value in (('in_channels', in_channels),
                            ('channels', channels),
                            ('out_channels', out_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or \
                    value <= 0:
                raise ValueError(f'SelfTeacherDecoder.{name} must be a '
                                 f'positive int, got {value!r}.')
        self.in_channels = in_channels
        self.channels = channels
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, channels, 3, padding=1,
                              bias=norm_cfg is None)
        self.norm = build_norm_layer(norm_cfg, channels)[1] \
            if norm_cfg is not None else nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.cls = nn.Conv2d(channels, out_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        """Args:
            x (Tensor): A refined level, (N, in_channels, H, W).

        Returns:
            Tensor: Teacher logits, (N, out_channels, H, W).
        """
        return self.cls(self.act(self.norm(self.conv(x))))
