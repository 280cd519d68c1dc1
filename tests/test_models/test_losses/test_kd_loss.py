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


@pytest.mark.parametrize('temperature', [1.0, 4.0])
def test_kd_matches_hand_computation(temperature):
    per_sample = [
        _kl(_softmax(t, temperature), _softmax(s, temperature))
        for s, t in zip(STUDENT, TEACHER)
    ]
    expected = temperature**2 * sum(per_sample) / len(per_sample)
    got = kd_kl_div(torch.tensor(STUDENT), torch.tensor(TEACHER), temperature)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_kd_is_zero_for_identical_logits():
    logits = torch.tensor(STUDENT)
    assert kd_kl_div(logits, logits.clone(), 4.0).item() == pytest.approx(
        0.0, abs=1e-7)


def test_kd_valid_mask_averages_over_valid_positions_only():
    # Per-pixel logits (N=1, C=3, H=1, W=2); the second pixel is ignored.
    student = torch.tensor(STUDENT).t().reshape(1, 3, 1, 2)
    teacher = torch.tensor(TEACHER).t().reshape(1, 3, 1, 2)
    mask = torch.tensor([[[True, False]]])
    expected = 2.0**2 * _kl(
        _softmax(TEACHER[0], 2.0), _softmax(STUDENT[0], 2.0))
    got = kd_kl_div(student, teacher, 2.0, valid_mask=mask)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_kd_rejects_mismatched_shapes_and_bad_temperature():
    with pytest.raises(ValueError, match='same shape'):
        kd_kl_div(torch.zeros(2, 3), torch.zeros(2, 4), 4.0)
    with pytest.raises(ValueError, match='temperature'):
        kd_kl_div(torch.zeros(2, 3), torch.zeros(2, 3), 0.0)
