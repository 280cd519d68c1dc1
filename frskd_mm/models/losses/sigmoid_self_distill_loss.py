"""FRSKD's distillation terms for heads with sigmoid classification (dense
detectors): the soft-label term as a per-class binary KL divergence."""
from typing import Optional

from torch import Tensor

from .kd_loss import binary_kd_kl_div
from .self_distill_loss import SelfDistillLoss


class SigmoidSelfDistillLoss(SelfDistillLoss):
    """:class:`SelfDistillLoss` whose soft-label term compares sigmoid
    classifiers, position by position (see docs/detection.md, "What is
    distilled").

    A dense head (RetinaNet's, FCOS's) scores each prior a with C sigmoids,
    so FRSKD's Eq. 5 becomes the binary KL divergence summed over the
    classes (:func:`~frskd_mm.models.losses.kd_loss.binary_kd_kl_div`),

        loss_kd = alpha * sum_a w_a KL_a / sum_a w_a,
        w_a = v_a * max_c sigmoid(t_ac)     (``score_weighted=True``)
        w_a = v_a                           (``score_weighted=False``),

    where ``v_a`` is the valid mask (priors inside the unpadded image). The
    teacher's score weights the priors where the teacher sees an object; it
    is computed from detached teacher logits, so it never receives a
    gradient. Everything else (the feature term, ``stop_target_grad`` and
    ``scale`` owned by :class:`~frskd_mm.engine.hooks.FRSKDHook`) is
    :class:`SelfDistillLoss`'s.

    Args:
        alpha (float): Weight of the soft-label term.
        beta (float): Weight of the feature term.
        temperature (float): Temperature T of the sigmoids.
        feature_loss (dict | nn.Module): The feature term, as in
            :class:`SelfDistillLoss`.
        score_weighted (bool): Weight the priors by the teacher's highest
            class probability. Defaults to True.
    """

    def __init__(self,
                 alpha: float,
                 beta: float,
                 temperature: float,
                 feature_loss=dict(type='AttentionTransferLoss'),
                 score_weighted: bool = True) -> None:
        super().__init__(alpha, beta, temperature, feature_loss)
        self.score_weighted = score_weighted

    def soft_label_loss(self,
                        student_logits: Tensor,
                        teacher_logits: Tensor,
                        valid_mask: Optional[Tensor] = None) -> Tensor:
        """Args:
            student_logits (Tensor): (P, C) class logits of P priors.
            teacher_logits (Tensor): (P, C), detached when the stop-gradient
                is on.
            valid_mask (Tensor, optional): (P, ) bool, the priors that count.

        Returns:
            Tensor: The weighted mean of the per-prior binary KL, a scalar.
        """
        weight = None
        if self.score_weighted:
            weight = teacher_logits.detach().float().sigmoid().amax(dim=1)
        if valid_mask is not None:
            mask = valid_mask.float()
            weight = mask if weight is None else weight * mask
        return binary_kd_kl_div(student_logits, teacher_logits,
                                self.temperature, weight)
