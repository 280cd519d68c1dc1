"""One bidirectional (top-down + bottom-up) layer of the FRSKD self-teacher."""
from typing import Dict, List, Optional, Sequence

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from frskd_mm.registry import MODELS
from ..utils import LegacyKeysMixin, conv_module_key_map
from .fusion import FusionNode, Resample, conv1x1_norm_relu


@MODELS.register_module()
class BiFPNLayer(LegacyKeysMixin, nn.Module):
    """Top-down path P and bottom-up path T over n levels (FRSKD, Sec. 3.1).

    With L_i the lateral maps (``d_i`` channels), levels numbered 1..n from
    the finest to the coarsest:

    - top-down: ``P_n = L_n``; ``P_i = node(L_i, up(P_{i+1}))`` for i < n,
      so ``P_{n-1}`` takes ``L_n`` diagonally;
    - bottom-up: ``T_1 = P_1`` (it fuses L_1 with P_2 diagonally);
      ``T_i = node(L'_i, P_i, down(T_{i-1}))`` for 1 < i < n and
      ``T_n = node(L'_n, down(T_{n-1}))``, where ``L'_i`` is a second 1x1
      lateral of the layer's input.

    Args:
        in_channels (Sequence[int]): Channels of the n input levels.
        out_channels (Sequence[int]): The widths d_1..d_n.
        depth (int): Depth of each separable conv block.
        with_lateral (bool): Apply the 1x1 laterals L_i to the inputs; the
            first layer does, stacked layers receive d_i channels already.
        bottom_up (bool): Build the bottom-up path. Without it the layer
            returns ReLU(P_1..P_n), as the authors' segmentation teacher
            does in its last layer (its decoder reads only the finest
            level, so a bottom-up path would stay untrained).
        norm_cfg (dict, optional): Normalisation layer of every conv block.
            Defaults to BN.
        resample_conv (bool): A 1x1 conv-BN-ReLU after each resampling
            (needed where adjacent widths differ: the authors' ``BiFPNc``).
            False resizes only, as the authors' uniform-width ``BiFPN``;
            then all widths must be equal. Defaults to True.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Sequence[int],
                 depth: int,
                 with_lateral: bool = True,
                 bottom_up: bool = True,
                 norm_cfg: Optional[dict] = None,
                 resample_conv: bool = True) -> None:
        super().__init__()
        n = len(out_channels)
        if n < 2:
            raise ValueError(f'The self-teacher needs >= 2 levels, got {n}.')
        if not with_lateral and list(in_channels) != list(out_channels):
            raise ValueError('Without laterals the inputs must already have '
                             f'widths {list(out_channels)}, got '
                             f'{list(in_channels)}.')
        self.with_lateral = with_lateral
        self.lateral_convs = nn.ModuleList(
            conv1x1_norm_relu(c, d, norm_cfg) for c, d in zip(
                in_channels, out_channels)) if with_lateral else None
        # Top-down nodes of levels 1..n-1; upsample from level i+1 to i.
        self.upsamples = nn.ModuleList(
            Resample(out_channels[i +
                                  1], out_channels[i], norm_cfg, resample_conv)
            for i in range(n - 1))
        self.top_down_nodes = nn.ModuleList(
            FusionNode(2, out_channels[i], depth, norm_cfg=norm_cfg)
            for i in range(n - 1))
        self.bottom_up = bottom_up
        if not bottom_up:
            return
        # L'_i for the bottom-up nodes of levels 2..n.
        self.bottom_up_laterals = nn.ModuleList(
            conv1x1_norm_relu(c, d, norm_cfg)
            for c, d in zip(in_channels[1:], out_channels[1:]))
        # Bottom-up nodes of levels 2..n; downsample from level i-1 to i.
        self.downsamples = nn.ModuleList(
            Resample(out_channels[i -
                                  1], out_channels[i], norm_cfg, resample_conv)
            for i in range(1, n))
        self.bottom_up_nodes = nn.ModuleList(
            FusionNode(
                3 if i < n - 1 else 2,
                out_channels[i],
                depth,
                norm_cfg=norm_cfg) for i in range(1, n))

    def _legacy_key_map(self) -> Dict[str, str]:
        """Version 1: each lateral was ``nn.Sequential(conv, norm, ReLU)``."""
        mapping = {}
        for name in ('lateral_convs', 'bottom_up_laterals'):
            for i, conv in enumerate(getattr(self, name, None) or ()):
                mapping.update(
                    conv_module_key_map(conv, f'{name}.{i}.', f'{name}.{i}.0.',
                                        f'{name}.{i}.1.'))
        return mapping

    def preact_norms(self) -> List[nn.Module]:
        """The norm layers whose outputs are T_1..T_n before their ReLU:
        the top-down node of level 1 and the bottom-up nodes (the authors'
        ``get_bn_before_relu``). Only with the bottom-up path."""
        if not self.bottom_up:
            raise ValueError(
                'The pre-activation outputs are those of the bottom-up path; '
                'this layer has none (last_layer_top_down_only=True).')
        nodes = [self.top_down_nodes[0]] + list(self.bottom_up_nodes)
        return [node.conv[-1].pointwise_conv.norm for node in nodes]

    def forward(self,
                inputs: Sequence[Tensor],
                preact: bool = False) -> List[Tensor]:
        """Args:
            inputs: n maps, level i of shape (N, in_channels[i], H_i, W_i).
            preact (bool): Also return T_1..T_n before their ReLU (the
                node outputs, for the OD feature loss). Needs the bottom-up
                path.

        Returns:
            list[Tensor]: ReLU(T_1..T_n) (ReLU(P_1..P_n) without the
            bottom-up path), level i of shape (N, d_i, H_i, W_i); with
            ``preact``, the pair ``(ReLU(T), T)``.
        """
        if preact and not self.bottom_up:
            self.preact_norms()  # raises, saying why
        n = len(inputs)
        sizes = [x.shape[-2:] for x in inputs]
        if self.with_lateral:
            # The backbone's maps feed the student too: ReLU out of place,
            # once per level for both laterals.
            inputs = [F.relu(x) for x in inputs]
            laterals = [conv(x) for conv, x in zip(self.lateral_convs, inputs)]
        else:
            laterals = list(inputs)

        # Laterals, resampled maps and a stacked layer's inputs are ReLU
        # outputs already; only the nodes' outputs (BN) need the ReLU, once:
        # every consumer of P_i and T_i (the paper's fusion, resampling and
        # outputs) takes them through a ReLU.
        # With ``preact`` the node outputs are kept: ReLU out of place.
        relu = F.relu if preact else F.relu_
        top_down = [None] * n
        top_down[-1] = laterals[-1]
        for i in range(n - 2, -1, -1):
            up = self.upsamples[i](top_down[i + 1], sizes[i])
            node = self.top_down_nodes[i]([laterals[i], up])
            top_down[i] = relu(node)
            if i == 0:
                pre = [node]
        if not self.bottom_up:
            return top_down

        second_laterals = [
            conv(x) for conv, x in zip(self.bottom_up_laterals, inputs[1:])
        ]
        outs = [top_down[0]]
        for i in range(1, n):
            down = self.downsamples[i - 1](outs[-1], sizes[i])
            if i < n - 1:
                fused = [second_laterals[i - 1], top_down[i], down]
            else:
                fused = [second_laterals[i - 1], down]
            node = self.bottom_up_nodes[i - 1](fused)
            pre.append(node)
            outs.append(relu(node))
        return (outs, pre) if preact else outs
