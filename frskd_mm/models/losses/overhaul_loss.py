"""The feature term of "A Comprehensive Overhaul of Feature Distillation"
(Heo et al., ICCV 2019), as the FRSKD authors use it with their
self-teacher (MingiJi/FRSKD, ``classification/distill_loss/OD.py``)."""
import math
from typing import List, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from frskd_mm.registry import MODELS
from .level_channels import BN, LevelChannelsMixin, level_connectors


def bn_margin(norm: nn.Module) -> Tensor:
    """The expected value of the negative part of each channel's
    pre-activation, from the BN that produces it (Heo et al., Eq. 3).

    With ``s = |gamma|`` and ``m = beta`` of the BN, a channel's output is
    taken as N(m, s^2); the margin is ``E[x | x < 0] = m - s * phi(m / s) /
    Phi(-m / s)``, or ``-3 s`` where ``Phi(-m / s) <= 0.001``.

    Args:
        norm (nn.Module): A BatchNorm with ``weight`` and ``bias``.

    Returns:
        Tensor: The margins, shape (C, ), float32.
    """
    s = norm.weight.detach().double().abs().cpu()
    m = norm.bias.detach().double().cpu()
    z = -m / s
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    pdf = torch.exp(-(m / s)**2 / 2) / math.sqrt(2 * math.pi)
    margin = torch.where(cdf > 0.001, -s * pdf / cdf + m, -3 * s)
    return margin.float()


@MODELS.register_module()
class OverhaulLoss(LevelChannelsMixin, nn.Module):
    """Partial L2 distance between connected student pre-activations and
    margin-clipped self-teacher pre-activations.

    Level i (of n, finest first): the student's pre-ReLU feature F_i goes
    through a connector ``1x1 conv (no bias) -> BN`` to the teacher's
    ``d_i`` channels, the teacher's pre-ReLU feature T_i is clipped from
    below at the margin ``m_i`` (:func:`bn_margin` of the BN before T_i's
    ReLU), and

    ``L_i = sum((C_i(F_i) - t)^2 * [C_i(F_i) > t or t > 0]) / N``,
    ``t = max(T_i, m_i)``;

    the loss is ``sum_i L_i / 2^(n - i)``, as the authors weight it (the
    finest level by ``1 / 2^(n-1)``, the last by 1). Heo et al.'s own
    CIFAR code divides the sum by 1000, so beta around 1e-3 is their
    weighting.

    The margins are computed once, from the self-teacher's BN parameters
    when training starts (``FRSKDHook`` calls :meth:`init_margins`; the
    authors compute them when the loss is built, from the untrained
    teacher), and kept as buffers, so a resumed run keeps them. Only the
    connectors are trained with this loss; they are not part of the
    deployed model.

    Args:
        student_channels (Sequence[int]): c_1..c_n.
        teacher_channels (Sequence[int]): d_1..d_n.
        norm_cfg (dict): The connectors' norm layer. Defaults to BN.
    """

    #: FRSKDNeck and the backbone must provide pre-activation features.
    needs_preact = True

    def __init__(self,
                 student_channels: Sequence[int],
                 teacher_channels: Sequence[int],
                 norm_cfg: dict = BN) -> None:
        super().__init__()
        self._set_level_channels(student_channels, teacher_channels)
        # Kaiming normal (fan-out) convs and unit BNs: the authors' init.
        self.connectors = level_connectors(student_channels, teacher_channels,
                                           norm_cfg)
        for i, c in enumerate(self.teacher_channels):
            self.register_buffer(f'margin{i}',
                                 torch.full((1, c, 1, 1), float('nan')))

    @property
    def margins(self) -> List[Tensor]:
        """m_1..m_n, each (1, d_i, 1, 1); NaN until :meth:`init_margins`."""
        return [
            getattr(self, f'margin{i}')
            for i in range(len(self.teacher_channels))
        ]

    @property
    def margins_ready(self) -> bool:
        """Whether the margins were set (here or by a loaded checkpoint)."""
        return not any(bool(torch.isnan(m).any()) for m in self.margins)

    def init_margins(self, norms: Sequence[nn.Module]) -> None:
        """Set the margins from the BNs before the teacher's ReLUs, unless
        they are set already (e.g. restored by a resumed run).

        Args:
            norms (Sequence[nn.Module]): One BN per level, d_i channels.
        """
        if self.margins_ready:
            return
        if len(norms) != len(self.teacher_channels):
            raise ValueError(
                f'OverhaulLoss has {len(self.teacher_channels)} levels but '
                f'the self-teacher gives {len(norms)} BNs.')
        for margin, norm in zip(self.margins, norms):
            value = bn_margin(norm)
            if value.numel() != margin.shape[1]:
                raise ValueError(
                    f'OverhaulLoss margin of {margin.shape[1]} channels but '
                    f'the BN has {value.numel()}; check teacher_channels.')
            margin.copy_(value.view_as(margin))

    def forward(self, student_feats: Sequence[Tensor],
                teacher_feats: Sequence[Tensor]) -> Tensor:
        """Args:
            student_feats: F_1..F_n before their last ReLU, each
                (N, c_i, H_i, W_i).
            teacher_feats: T_1..T_n before their ReLU, each
                (N, d_i, H_i, W_i); used as given (the caller detaches).

        Returns:
            Tensor: ``sum_i L_i / 2^(n - i)``, a scalar.
        """
        n = len(self.connectors)
        if len(student_feats) != n or len(teacher_feats) != n:
            raise ValueError(
                f'OverhaulLoss was built for {n} levels, got '
                f'{len(student_feats)} student and {len(teacher_feats)} '
                'refined levels.')
        if not self.margins_ready:
            raise RuntimeError(
                'OverhaulLoss has no margins yet: they come from the '
                "self-teacher's BNs when training starts; add "
                "dict(type='FRSKDHook') to custom_hooks.")
        total = 0
        for i, (conn, s, t, margin) in enumerate(
                zip(self.connectors, student_feats, teacher_feats,
                    self.margins)):
            source = conn(s)
            target = torch.max(t, margin.to(t.dtype))
            mask = (source > target) | (target > 0)
            dist = ((source - target)**2 * mask).sum() / s.shape[0]
            total = total + dist / 2**(n - 1 - i)
        return total
