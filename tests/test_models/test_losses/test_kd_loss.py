import math

import pytest
import torch

from frskd_mm.models.losses import kd_kl_div


def _softmax(row, t):
    exps = [math.exp(v / t) for v in row]
    return [e / sum(exps) for e in exps]


def _kl(p_t, p_s):
    return sum(a * math.log(a / b) for a, b in zip(p_t, p_s))


STUDENT = [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]
TEACHER = [[3.0, 2.0, 1.0], [0.5, -1.0, 2.0]]


def _expected(student, teacher, temperature):
    per_sample = [
        _kl(_softmax(t, temperature), _softmax(s, temperature))
        for s, t in zip(student, teacher)
    ]
    return temperature**2 * sum(per_sample) / len(per_sample)


@pytest.mark.parametrize('temperature', [1.0, 4.0])
def test_kd_matches_hand_computation(temperature, device):
    expected = _expected(STUDENT, TEACHER, temperature)
    got = kd_kl_div(
        torch.tensor(STUDENT, device=device),
        torch.tensor(TEACHER, device=device), temperature)
    assert got.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('temperature', [1.0, 4.0])
def test_kd_under_autocast_is_a_float32_computation(temperature, device,
                                                    amp_dtype, autocast):
    """Half-precision logits (a Linear's under autocast) and close
    distributions (a KL of ~1e-3): the divergence is computed in float32
    from the given (rounded) logits, so it is the hand computation on those
    logits to float32 accuracy: T^2 times a few float32 roundings of the
    log-probabilities (|log p| < 3, 2^-24 * 3 * 3 classes ~ 5e-7, bound
    1e-6). Rounding the log-probabilities to bfloat16 (2^-8 * 3 ~ 1e-2)
    or float16 (~1.5e-3) instead would be an error of the size of the
    divergence itself (5e-3 / T^2). The logits' gradients keep their
    dtype."""
    student = torch.tensor(STUDENT, device=device)
    teacher = (student + 0.1 * torch.tensor(TEACHER, device=device))
    student = student.to(amp_dtype).requires_grad_()
    teacher = teacher.to(amp_dtype).requires_grad_()
    expected = _expected(student.tolist(), teacher.tolist(), temperature)
    assert expected < 1e-2
    with autocast():
        got = kd_kl_div(student, teacher, temperature)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(expected, abs=temperature**2 * 1e-6)
    grads = torch.autograd.grad(got, [student, teacher])
    assert all(g.dtype == amp_dtype and g.abs().sum() > 0 for g in grads)


def test_kd_is_zero_for_identical_logits(device):
    logits = torch.tensor(STUDENT, device=device)
    assert kd_kl_div(logits, logits.clone(), 4.0).item() == pytest.approx(
        0.0, abs=1e-7)


def test_kd_valid_mask_averages_over_valid_positions_only(device):
    # Per-pixel logits (N=1, C=3, H=1, W=2); the second pixel is ignored.
    student = torch.tensor(STUDENT, device=device).t().reshape(1, 3, 1, 2)
    teacher = torch.tensor(TEACHER, device=device).t().reshape(1, 3, 1, 2)
    mask = torch.tensor([[[True, False]]], device=device)
    expected = 2.0**2 * _kl(
        _softmax(TEACHER[0], 2.0), _softmax(STUDENT[0], 2.0))
    got = kd_kl_div(student, teacher, 2.0, valid_mask=mask)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_kd_rejects_mismatched_shapes_and_bad_temperature():
    with pytest.raises(ValueError, match='same shape'):
        kd_kl_div(torch.zeros(2, 3), torch.zeros(2, 4), 4.0)
    with pytest.raises(ValueError, match='temperature'):
        kd_kl_div(torch.zeros(2, 3), torch.zeros(2, 3), 0.0)
