"""Checks that the FRSKD parts of a built model fit together.

:class:`~frskd_mm.engine.hooks.FRSKDHook` runs them before the first
iteration, so that a config mistake stops the run with the config keys to
fix instead of a shape error inside the first forward pass.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .losses.self_distill_loss import SelfDistillLoss
from .necks import FRSKDNeck


def check_frskd_model(model: nn.Module) -> None:
    """Check that the FRSKD parts of a built model fit together.

    Runs the backbone (and the FRSKD neck's inner neck, if any) once on a
    small zero batch (eval mode, no gradient, no state changed) to learn the
    channels of the features the self-teacher refines; backbones that cannot
    take such an input are checked against the configured channels only.
    A model without a backbone (a bare head) is not checked.

    Raises:
        ValueError: Naming the config keys that disagree, and the fix.
    """
    if getattr(model, 'backbone', None) is None:
        return  # a bare head (unit tests): nothing to check it against
    heads = [
        m for m in model.modules()
        if isinstance(getattr(m, 'distill', None), SelfDistillLoss)
    ]
    necks = [m for m in model.modules() if isinstance(m, FRSKDNeck)]
    if not necks:
        raise ValueError(
            'The model has an FRSKD head but no FRSKDNeck: set '
            "model.neck=dict(type='FRSKDNeck', in_channels=[<channels of "
            "each backbone stage>], ...) and the backbone's out_indices to "
            'every stage it refines.')
    neck = necks[0]
    feats = _probe_backbone(model)
    if feats is not None and neck.neck is not None:
        feats = _probe_inner_neck(neck, feats)
    if feats is not None:
        neck.check_inputs(feats)
    stage_channels = None if feats is None else [
        int(f.shape[1]) for f in feats
    ]
    for head in heads:
        head.check_neck(neck, stage_channels)


def _probe_inner_neck(neck: FRSKDNeck,
                      feats: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
    """The inner neck's outputs for the probed backbone features (eval
    mode, no gradient, no state changed)."""
    inner = neck.neck
    was_training = inner.training
    inner.eval()
    try:
        with torch.no_grad():
            return neck.student_features(feats)
    finally:
        inner.train(was_training)


def _probe_backbone(model: nn.Module) -> Optional[Tuple[Tensor, ...]]:
    """The backbone's outputs for a zero batch of 2 x C x 64 x 64, or None
    if it refuses that input."""
    backbone = model.backbone
    param = next(backbone.parameters(), None)
    device = param.device if param is not None else torch.device('cpu')
    channels = getattr(backbone, 'in_channels', 3)
    if not isinstance(channels, int):
        channels = 3
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.no_grad():
            feats = backbone(torch.zeros(2, channels, 64, 64, device=device))
    except Exception:  # noqa: BLE001 - e.g. fixed input sizes
        return None
    finally:
        backbone.train(was_training)
    if isinstance(feats, Tensor):
        feats = (feats, )
    if not all(isinstance(f, Tensor) and f.dim() == 4 for f in feats):
        return None
    return tuple(feats)
