"""Attention transfer between student and refined features.

Zagoruyko & Komodakis, "Paying More Attention to Attention", ICLR 2017;
used by FRSKD (Ji et al., CVPR 2021, Eq. 6) as the feature term.
"""
from typing import Sequence

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from frskd_mm.registry import MODELS


def spatial_attention(feat: Tensor, p: int = 2) -> Tensor:
    """L2-normalised spatial attention map of a feature map.

    Args:
        feat (Tensor): Shape (N, C, H, W).
        p (int): Power applied to the activations before the channel mean.

    Returns:
        Tensor: Shape (N, H * W); each row has unit L2 norm.
    """
    return F.normalize(feat.pow(p).mean(dim=1).flatten(1), dim=1)


def attention_transfer(student: Tensor, teacher: Tensor, p: int = 2) -> Tensor:
    """Mean squared distance between the two normalised attention maps.

    Args:
        student (Tensor): Shape (N, C_s, H, W).
        teacher (Tensor): Shape (N, C_t, H, W); channels may differ.
        p (int): Power of the attention map.

    Returns:
        Tensor: A scalar, the mean over the N * H * W entries.
    """
    if student.shape[0] != teacher.shape[0] or \
            student.shape[2:] != teacher.shape[2:]:
        raise ValueError('Attention transfer needs the same batch size and '
                         'spatial size, got student '
                         f'{tuple(student.shape)} and teacher '
                         f'{tuple(teacher.shape)}.')
    diff = spatial_attention(student, p) - spatial_attention(teacher, p)
    return diff.pow(2).mean()


@MODELS.register_module()
class AttentionTransferLoss(nn.Module):
    """Sum over levels of the attention-transfer distance.

    Args:
        p (int): Power of the attention map. Defaults to 2.
    """

    def __init__(self, p: int = 2) -> None:
        super().__init__()
        self.p = p

    def forward(self, student_feats: Sequence[Tensor],
                teacher_feats: Sequence[Tensor]) -> Tensor:
        """Args:
            student_feats: F_1..F_n, each (N, c_i, H_i, W_i).
            teacher_feats: T_1..T_n, each (N, d_i, H_i, W_i).

        Returns:
            Tensor: ``sum_i AT(F_i, T_i)``, a scalar.
        """
        _check_levels(student_feats, teacher_feats)
        return sum(
            attention_transfer(s, t, self.p)
            for s, t in zip(student_feats, teacher_feats))


def _check_levels(student_feats, teacher_feats) -> None:
    if len(student_feats) != len(teacher_feats):
        raise ValueError(f'Got {len(student_feats)} student feature levels '
                         f'but {len(teacher_feats)} refined levels.')
