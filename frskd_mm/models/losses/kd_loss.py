"""Soft-label distillation term of FRSKD (Ji et al., CVPR 2021, Eq. 5)."""
import torch
import torch.nn.functional as F
from torch import Tensor

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def kd_kl_div(student_logits: Tensor,
              teacher_logits: Tensor,
              temperature: float,
              valid_mask: Tensor = None) -> Tensor:
    """``T^2 * KL(p_teacher || p_student)`` at temperature ``T``.

    The KL divergence is summed over the class dimension (dim 1) and
    averaged over every other position: the batch for classification, the
    valid pixels for segmentation. ``T^2`` keeps the gradient scale of the
    soft term independent of ``T`` (Hinton et al., 2015).

    Args:
        student_logits (Tensor): Shape (N, C) or (N, C, H, W).
        teacher_logits (Tensor): Same shape as ``student_logits``. Used as
            given: detach it beforehand if it must not receive gradients.
        temperature (float): Softmax temperature ``T`` (> 0).
        valid_mask (Tensor, optional): Bool mask of the positions that count,
            shape (N,) or (N, H, W). Defaults to all positions.

    Returns:
        Tensor: A scalar; float32 for half-precision logits.

    Half-precision logits (under ``torch.autocast``) are taken to float32
    first: the KL divergence is a sum of differences of log-probabilities,
    which half precision rounds to ~u |log p|; in bfloat16 that is larger
    than the divergence of close distributions itself (CUDA's autocast
    runs ``log_softmax`` in float32, the CPU's does not).
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError('Student and teacher logits must have the same '
                         f'shape, got {tuple(student_logits.shape)} and '
                         f'{tuple(teacher_logits.shape)}.')
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}.')
    if student_logits.dtype in _LOW_PRECISION or \
            teacher_logits.dtype in _LOW_PRECISION:
        student_logits = student_logits.float()
        teacher_logits = teacher_logits.float()
    log_p_s = F.log_softmax(student_logits / temperature, dim=1)
    log_p_t = F.log_softmax(teacher_logits / temperature, dim=1)
    # KL(p_t || p_s) = sum_c p_t * (log p_t - log p_s), per position.
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1)
    if valid_mask is not None:
        mask = valid_mask.to(kl.dtype)
        kl = (kl * mask).sum() / mask.sum().clamp(min=1.0)
    else:
        kl = kl.mean()
    return kl * temperature**2
