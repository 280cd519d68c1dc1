"""Soft-label distillation term of FRSKD (Ji et al., CVPR 2021, Eq. 5), for
softmax classifiers and, per class, for sigmoid ones."""
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


def binary_kd_kl_div(student_logits: Tensor,
                     teacher_logits: Tensor,
                     temperature: float,
                     weight: Tensor = None) -> Tensor:
    """``T^2 * sum_c KL(Bern(p_c) || Bern(q_c))`` per position, for sigmoid
    classifiers, averaged over the positions with ``weight``.

    A sigmoid head (focal loss) models each class c as an independent
    Bernoulli, ``p_c = sigmoid(t_c / T)`` for the teacher and ``q_c =
    sigmoid(s_c / T)`` for the student; the divergence of the two is

        p_c log(p_c / q_c) + (1 - p_c) log((1 - p_c) / (1 - q_c)),

    summed over the classes (dim 1) and multiplied by ``T^2`` as in
    :func:`kd_kl_div` (Hinton et al., 2015).

    Args:
        student_logits (Tensor): Shape (P, C) (or (N, C, ...)).
        teacher_logits (Tensor): Same shape. Used as given: detach it
            beforehand if it must not receive gradients.
        temperature (float): Temperature ``T`` (> 0).
        weight (Tensor, optional): Non-negative weight of each position,
            shape (P, ) (or (N, ...)); the result is ``sum(w * KL) /
            sum(w)`` (0 when the weights sum to 0). Defaults to the plain
            mean.

    Returns:
        Tensor: A scalar; float32 for half-precision logits.
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
    s, t = student_logits / temperature, teacher_logits / temperature
    p = torch.sigmoid(t)
    # log p - log q and log(1 - p) - log(1 - q) from log-sigmoids: exact
    # where the probabilities round to 0 or 1.
    kl = p * (F.logsigmoid(t) - F.logsigmoid(s)) + \
        (1 - p) * (F.logsigmoid(-t) - F.logsigmoid(-s))
    kl = kl.sum(dim=1)
    if weight is None:
        kl = kl.mean()
    else:
        weight = weight.to(kl.dtype)
        kl = (kl * weight).sum() / weight.sum().clamp(min=1e-12)
    return kl * temperature**2
