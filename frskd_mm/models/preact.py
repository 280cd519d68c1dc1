"""Pre-activation features for feature losses that ask for them (the OD
loss, :class:`~frskd_mm.models.losses.OverhaulLoss`).

The backbone's stages end in a ReLU; the OD loss reads the features before
it, as the authors' backbones return them with ``preact=True`` (MingiJi/
FRSKD, ``classification/models``). Rather than a second backbone class per
network, :class:`PreActRecorder` records them with forward hooks while the
backbone runs, and :class:`~frskd_mm.models.necks.FRSKDNeck` attaches them
to its output. :func:`enable_preact_features` (called by ``FRSKDHook``
before training) sets this up when a feature loss needs it.
"""
import functools
from typing import Dict, List

import torch.nn as nn
from torch import Tensor

from .backbones.wide_resnet_cifar import WideResNetCIFAR
from .losses.self_distill_loss import SelfDistillLoss
from .necks import FRSKDNeck


class PreActRecorder:
    """Records a backbone's returned stages before their last ReLU, in
    training mode.

    Supported backbones:

    - MMPretrain's ResNet family (``ResNet``, ``ResNet_CIFAR``,
      ``ResNetV1c``/``V1d``: a ``res_layers`` list): the input of the last
      block's ReLU at its last call in the block (the residual sum),
      copied before the in-place ReLU overwrites it;
    - frskd_mm's :class:`WideResNetCIFAR`: the output of each stage's BN.

    Args:
        backbone (nn.Module): The model's backbone; its ``out_indices``
            are the stages recorded.

    Raises:
        ValueError: For other backbones, naming what is supported.
    """

    def __init__(self, backbone: nn.Module) -> None:
        self._feats: Dict[int, Tensor] = {}
        indices = list(getattr(backbone, 'out_indices', ()))
        self.num_levels = len(indices)
        self.handles = []
        if isinstance(backbone, WideResNetCIFAR):
            for k, i in enumerate(indices):
                self.handles.append(
                    backbone.stage_norms[i].register_forward_hook(
                        functools.partial(self._after, k)))
        elif hasattr(backbone, 'res_layers') and indices:
            for k, i in enumerate(indices):
                block = getattr(backbone, backbone.res_layers[i])[-1]
                relu = getattr(block, 'relu', None)
                if not isinstance(relu, nn.Module):
                    raise ValueError(
                        f'{type(backbone).__name__} stage {i} ends in a '
                        f'{type(block).__name__} without a ReLU module: its '
                        'pre-activation features cannot be recorded.')
                self.handles.append(
                    relu.register_forward_pre_hook(
                        functools.partial(self._before, k)))
        else:
            raise ValueError(
                'Pre-activation features (the OD feature loss, '
                'OverhaulLoss) can be recorded from MMPretrain ResNets '
                '(ResNet, ResNet_CIFAR, ResNetV1c/V1d) and WideResNetCIFAR, '
                f'not from {type(backbone).__name__}; use '
                "feature_loss=dict(type='AttentionTransferLoss') there.")

    def _before(self, level: int, module: nn.Module, args) -> None:
        if module.training:
            self._feats[level] = args[0].clone()

    def _after(self, level: int, module: nn.Module, args,
               output: Tensor) -> None:
        if module.training:
            self._feats[level] = output

    def __call__(self) -> List[Tensor]:
        """The recorded stages of the last training forward pass, finest
        first; the record is cleared."""
        if len(self._feats) != self.num_levels:
            raise RuntimeError(
                f'Recorded {len(self._feats)} of {self.num_levels} '
                'pre-activation stages: the backbone did not run in training '
                'mode before the FRSKD neck.')
        feats = [self._feats[k] for k in range(self.num_levels)]
        self._feats = {}
        return feats

    def remove(self) -> None:
        """Remove the hooks."""
        for handle in self.handles:
            handle.remove()
        self.handles = []


def enable_preact_features(model: nn.Module) -> None:
    """Provide pre-activation features to the feature losses that need
    them (``needs_preact``): record the backbone's, make the FRSKD neck
    return them with its own, and let the loss take its margins from the
    self-teacher's BNs (unless restored from a checkpoint).

    Args:
        model (nn.Module): The FRSKD model (not wrapped).
    """
    losses = [
        m.feature_loss for m in model.modules()
        if isinstance(m, SelfDistillLoss)
        and getattr(m.feature_loss, 'needs_preact', False)
    ]
    if not losses:
        return
    necks = [m for m in model.modules() if isinstance(m, FRSKDNeck)]
    if not necks or getattr(model, 'backbone', None) is None:
        raise ValueError(
            f'{type(losses[0]).__name__} needs a backbone and an FRSKDNeck.')
    neck = necks[0]
    if neck.preact_source is None:
        neck.record_preact(PreActRecorder(model.backbone))
    for loss in losses:
        loss.init_margins(neck.preact_norms())
