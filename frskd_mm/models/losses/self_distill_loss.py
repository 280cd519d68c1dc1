"""The distillation terms of FRSKD, shared by classification and segmentation.

FRSKD (Ji et al., CVPR 2021, Eq. 7) trains the student with
``CE + alpha * T^2 * KL(p_t || p_s) + beta * sum_i AT(F_i, T_i)``; the
self-teacher's logits and refined features are targets that receive no
gradient from these two terms. :class:`SelfDistillLoss` detaches them when
its ``stop_target_grad`` is on, which
:class:`~frskd_mm.engine.hooks.FRSKDHook` does before training.
"""
from typing import Dict, Optional, Sequence

import torch.nn as nn
from torch import Tensor

from frskd_mm.registry import MODELS
from .kd_loss import kd_kl_div

HOOK_HINT = ("add dict(type='FRSKDHook') to custom_hooks (our "
             "configs/_base_/frskd_runtime.py does)")


class SelfDistillLoss(nn.Module):
    """``loss_kd`` and ``loss_att``: soft-label and feature distillation.

    :class:`~frskd_mm.engine.hooks.FRSKDHook` owns two pieces of state here:

    - ``stop_target_grad``, which it switches on before training. Because
      it is on, the targets (teacher logits and refined features) are
      detached, so these two terms give exactly zero gradient to the
      self-teacher (FRSKD, Eq. 7). While it is off (the default), a call in
      training mode raises ``RuntimeError`` naming the hook
      (:data:`HOOK_HINT`); a call in eval mode computes the same values
      without detaching the targets, so a backward pass through it would
      reach the self-teacher.
    - ``scale``, the schedule factor in [0, 1] that multiplies alpha and
      beta.

    Args:
        alpha (float): Weight of the soft-label term.
        beta (float): Weight of the feature term.
        temperature (float): Softmax temperature T of the soft-label term.
        feature_loss (dict | nn.Module): The feature term, e.g.
            ``dict(type='AttentionTransferLoss')`` (the paper's choice) or
            ``dict(type='FitNetLoss', ...)`` or ``dict(type='OverhaulLoss',
            ...)``; called as ``feature_loss(student_feats,
            refined_feats)`` (pre-activation features for a loss with
            ``needs_preact``, which the heads pass).
    """

    def __init__(
        self,
        alpha: float,
        beta: float,
        temperature: float,
        feature_loss=dict(type='AttentionTransferLoss')
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}.')
        if alpha < 0 or beta < 0:
            raise ValueError(f'alpha and beta must be >= 0, got {alpha}, '
                             f'{beta}.')
        self.alpha = alpha
        self.beta = beta
        self.temperature = temperature
        if not isinstance(feature_loss, nn.Module):
            feature_loss = build_feature_loss(feature_loss)
        self.feature_loss = feature_loss
        self.scale = 1.0  # set by FRSKDHook before every iteration
        self.stop_target_grad = False  # switched on by FRSKDHook

    def forward(self,
                student_logits: Tensor,
                teacher_logits: Tensor,
                student_feats: Sequence[Tensor],
                refined_feats: Sequence[Tensor],
                valid_mask: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Args:
            student_logits (Tensor): (N, C) or (N, C, H, W).
            teacher_logits (Tensor): Same shape as ``student_logits``.
            student_feats (Sequence[Tensor]): F_1..F_n.
            refined_feats (Sequence[Tensor]): T_1..T_n.
            valid_mask (Tensor, optional): Positions of the KD term that
                count, (N,) or (N, H, W).

        Returns:
            dict[str, Tensor]: ``loss_kd`` and ``loss_att``; their targets
            detached when ``stop_target_grad`` is on.

        Raises:
            RuntimeError: In training mode with ``stop_target_grad`` off.
        """
        if self.stop_target_grad:
            teacher_logits = teacher_logits.detach()
            refined_feats = [f.detach() for f in refined_feats]
        elif self.training:
            raise RuntimeError(
                'FRSKD distillation is computed without FRSKDHook, so its '
                'targets would pass gradients into the self-teacher. '
                f'To train with FRSKD, {HOOK_HINT}.')
        alpha, beta = self.alpha * self.scale, self.beta * self.scale
        return dict(
            loss_kd=alpha *
            self.soft_label_loss(student_logits, teacher_logits, valid_mask),
            loss_att=beta * self.feature_loss(student_feats, refined_feats))

    def soft_label_loss(self,
                        student_logits: Tensor,
                        teacher_logits: Tensor,
                        valid_mask: Optional[Tensor] = None) -> Tensor:
        """The soft-label term before alpha: ``T^2 * KL(p_t || p_s)`` of the
        softmax distributions (:func:`kd_kl_div`). Subclasses change it for
        other classifiers (e.g. :class:`~frskd_mm.models.losses.
        sigmoid_self_distill_loss.SigmoidSelfDistillLoss`).

        Args:
            student_logits (Tensor): (N, C) or (N, C, H, W).
            teacher_logits (Tensor): Same shape, already detached when the
                stop-gradient is on.
            valid_mask (Tensor, optional): Positions that count.

        Returns:
            Tensor: A scalar.
        """
        return kd_kl_div(student_logits, teacher_logits, self.temperature,
                         valid_mask)

    def check_feature_channels(self, student_channels: Sequence[int],
                               refined_channels: Sequence[int],
                               key: str) -> None:
        """Let the feature term check its channels against the model's.

        Args:
            student_channels (Sequence[int]): c_1..c_n of F_1..F_n.
            refined_channels (Sequence[int]): d_1..d_n of T_1..T_n.
            key (str): The config key of the feature term, for messages,
                e.g. ``'model.head.feature_loss'``.
        """
        check = getattr(self.feature_loss, 'check_channels', None)
        if check is not None:
            check(student_channels, refined_channels, key)


def build_feature_loss(cfg: dict) -> nn.Module:
    """Build the feature term, with an error that lists the known types.

    The type is looked up in the running task's registry (which holds
    frskd_mm's losses too) and, outside a run, in frskd_mm's.
    """
    try:
        return MODELS.build(cfg)
    except KeyError as e:
        raise KeyError(
            f"Unknown FRSKD feature loss type {cfg.get('type')!r} ({e}): "
            "use 'AttentionTransferLoss' (the paper's), 'FitNetLoss' or "
            "'OverhaulLoss' (OD), or "
            'register your own nn.Module with '
            '@frskd_mm.registry.MODELS.register_module().') from e
