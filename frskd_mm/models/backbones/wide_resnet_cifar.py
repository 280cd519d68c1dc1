"""Wide Residual Network for 32x32 inputs (Zagoruyko & Komodakis, BMVC
2016)."""
from typing import Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch import Tensor

from frskd_mm.registry import MODELS


class PreActBlock(nn.Module):
    """Pre-activation basic block: ``[BN-]ReLU-conv3x3-BN-ReLU-conv3x3``.

    The block input ``x`` is activated as ``a = ReLU(BN(x))`` (or
    ``a = ReLU(x)`` without the input norm); the residual branch is
    ``conv2(ReLU(bn2(conv1(a))))`` and the identity is ``x`` itself, or
    ``shortcut(a)`` (1x1 conv) when the shape changes.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first convolution.
        drop_rate (float): Dropout between the two convolutions.
        with_input_norm (bool): Whether a BN (``bn1``) comes before the first
            ReLU. True is the standard pre-activation block; False is the
            FRSKD authors' block (their ``classification/models/wrn.py``
            ``BasicBlock`` defines no ``bn1``). Defaults to True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 drop_rate: float = 0.0,
                 with_input_norm: bool = True) -> None:
        super().__init__()
        self.with_input_norm = with_input_norm
        if with_input_norm:
            self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.drop_rate = drop_rate
        self.shortcut = None
        if in_channels != out_channels or stride != 1:
            self.shortcut = nn.Conv2d(
                in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Args:
            x (Tensor): (N, in_channels, H, W).

        Returns:
            Tensor: (N, out_channels, H / stride, W / stride), the sum of the
            branches, not activated.
        """
        act = F.relu(self.bn1(x) if self.with_input_norm else x)
        out = self.conv1(act)
        out = F.relu(self.bn2(out))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        identity = x if self.shortcut is None else self.shortcut(act)
        return out + identity


@MODELS.register_module()
class WideResNetCIFAR(BaseBackbone):
    """WRN-d-k for CIFAR-sized inputs, with three stages.

    A 3x3 stem conv (16 channels), then three stages of ``(d - 4) / 6``
    pre-activation blocks with ``16k, 32k, 64k`` channels (WRN-16-2:
    32/64/128) at strides 1, 2, 4. Each stage ends with a BatchNorm that
    stays on the main path: the next stage reads that BN's output, and the
    stage's feature ``F_i`` is its ReLU. The last feature is the one the
    classifier pools, so every stage yields a post-activation map for the
    self-teacher and the network is the same whichever stages are returned.

    Two blocks (``block``):

    - ``'authors'``: the FRSKD authors' WRN (``classification/models/wrn.py``
      of their repository): no BN before a block's first ReLU, which acts on
      the block input directly. The per-stage BNs are their ``block1bn``,
      ``block2bn`` and ``block3bn``; their features are
      ``[ReLU(f1), ReLU(f2), ReLU(f3)]`` and their classifier pools
      ``ReLU(f3)``, as here. (Their model also defines a ``bn1`` of 64k
      channels that its forward never uses; it is not built here.) The
      paper configs (``configs/frskd``, ``configs/baseline``,
      ``configs/frskd_stable``) use it.
    - ``'preact'`` (default): the standard pre-activation block, with a BN
      before the first ReLU of every block (Zagoruyko & Komodakis). Version 1
      of this backbone, whose state dicts it loads unchanged. The README demo
      (``configs/demo``) keeps it, so its measured numbers stay reproducible.

    Args:
        depth (int): d, with ``(d - 4) % 6 == 0``. Defaults to 16.
        widen_factor (int): k. Defaults to 2.
        out_indices (Sequence[int]): Stages to return (0, 1, 2).
            Defaults to ``(2, )``.
        drop_rate (float): Dropout inside the blocks. Defaults to 0.
        block (str): ``'preact'`` or ``'authors'``, see above. Defaults to
            ``'preact'``.
        init_cfg (dict | list[dict], optional): Initialisation config. The
            default, Kaiming normal (fan_out) convs and unit BNs, is the
            authors' ``normal_(0, sqrt(2 / (k * k * out_channels)))``.
    """

    BLOCKS = ('preact', 'authors')

    def __init__(
        self,
        depth: int = 16,
        widen_factor: int = 2,
        out_indices: Sequence[int] = (2, ),
        drop_rate: float = 0.0,
        block: str = 'preact',
        init_cfg=[
            dict(
                type='Kaiming',
                layer='Conv2d',
                mode='fan_out',
                nonlinearity='relu'),
            dict(type='Constant', val=1, layer='BatchNorm2d')
        ]
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if (depth - 4) % 6 != 0 or depth < 10:
            raise ValueError(
                f'WRN depth must be 6n + 4 (n >= 1), got {depth}.')
        out_indices = tuple(i % 3 for i in out_indices)
        if not out_indices or any(i not in (0, 1, 2) for i in out_indices):
            raise ValueError('out_indices must pick stages among (0, 1, 2), '
                             f'got {out_indices}.')
        if block not in self.BLOCKS:
            raise ValueError(
                f'block must be one of {self.BLOCKS}, got {block!r}.')
        self.out_indices = out_indices
        self.block = block
        blocks = (depth - 4) // 6
        channels = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.channels = channels
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.stages = nn.ModuleList()
        self.stage_norms = nn.ModuleList()
        in_ch = 16
        for i, out_ch in enumerate(channels):
            stride = 1 if i == 0 else 2
            self.stages.append(
                nn.Sequential(*[
                    PreActBlock(
                        in_ch if b == 0 else out_ch,
                        out_ch,
                        stride if b == 0 else 1,
                        drop_rate,
                        with_input_norm=block == 'preact')
                    for b in range(blocks)
                ]))
            self.stage_norms.append(nn.BatchNorm2d(out_ch))
            in_ch = out_ch

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Args:
            x (Tensor): Images, (N, 3, H, W).

        Returns:
            tuple[Tensor]: The stages in ``out_indices``, each the ReLU of its
            stage BN; stage i has shape (N, 16k * 2^i, H / 2^i, W / 2^i).
        """
        x = self.conv1(x)
        outs = []
        for i, (stage, norm) in enumerate(zip(self.stages, self.stage_norms)):
            x = norm(stage(x))  # the next stage reads the BN output
            if i in self.out_indices:
                outs.append(F.relu(x))
        return tuple(outs)
