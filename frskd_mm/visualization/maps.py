"""Student features F_i, refined features T_i and their attention maps.

The whole model stays in eval mode, so no BatchNorm statistic changes and
BN uses its running statistics, as at test time; only the neck object itself
is switched to its training branch (``neck.training = True``, not
``neck.train()``), because in eval mode the neck skips the self-teacher.
"""
from contextlib import contextmanager
from typing import Iterator, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..models.losses import AttentionTransferLoss, spatial_attention
from ..models.necks import FRSKDNeck
from ..models.necks.frskd_neck import SelfTeacherFeatures


@contextmanager
def _self_teacher_mode(neck: FRSKDNeck) -> Iterator[None]:
    """Run the neck's teacher branch while all its layers stay in eval."""
    was_training = neck.training
    neck.training = True  # the neck object only: BN keeps running stats
    try:
        yield
    finally:
        neck.training = was_training


def frskd_features(
        model: nn.Module,
        inputs: Tensor) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...]]:
    """Student features F_1..F_n and refined features T_1..T_n.

    Runs without gradients; no parameter or BN statistic of ``model``
    changes. ``model`` should be in eval mode (BN uses running statistics).

    Args:
        model (nn.Module): An FRSKD model with ``backbone`` and an
            :class:`FRSKDNeck` as ``neck``.
        inputs (Tensor): Preprocessed images, shape (N, 3, H, W).

    Returns:
        tuple: ``(student, refined)``, level i of shapes (N, c_i, H_i, W_i)
        and (N, d_i, H_i, W_i).
    """
    neck = getattr(model, 'neck', None)
    if not isinstance(neck, FRSKDNeck):
        raise ValueError('The model has no FRSKDNeck self-teacher (neck is '
                         f'{type(neck).__name__}).')
    with torch.no_grad(), _self_teacher_mode(neck):
        feats = model.backbone(inputs)
        if isinstance(feats, Tensor):
            feats = (feats, )
        out = neck(tuple(feats))
    if not isinstance(out, SelfTeacherFeatures):
        raise RuntimeError('FRSKDNeck did not return the refined features.')
    return tuple(out), tuple(out.refined)


def attention_maps(feats: Sequence[Tensor],
                   size: Tuple[int, int],
                   p: int = 2) -> List[Tensor]:
    """Spatial attention of each level, upsampled to ``size``.

    Args:
        feats (Sequence[Tensor]): Level i of shape (N, C_i, H_i, W_i).
        size (tuple[int, int]): Output (H, W).
        p (int): Power of :func:`spatial_attention`.

    Returns:
        list[Tensor]: Level i of shape (N, H, W): the unit-L2-norm map of
        :func:`spatial_attention`, reshaped to (H_i, W_i) and upsampled
        bilinearly.
    """
    maps = []
    for feat in feats:
        n, _, h, w = feat.shape
        att = spatial_attention(feat.float(), p).view(n, 1, h, w)
        att = F.interpolate(
            att, size=tuple(size), mode='bilinear', align_corners=False)
        maps.append(att[:, 0])
    return maps


def attention_power(model: nn.Module) -> int:
    """The power ``p`` of the model's attention-transfer loss (2 if
    none)."""
    for module in model.modules():
        if isinstance(module, AttentionTransferLoss):
            return module.p
    return 2
