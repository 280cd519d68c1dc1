"""The soft-label term for sigmoid heads: binary KL per class, summed over
the classes, averaged over the priors with the teacher's score as weight
(docs/detection.md), against hand computations."""
import math

import pytest
import torch

from frskd_mm.models.losses import (SigmoidSelfDistillLoss, attention_transfer,
                                    binary_kd_kl_div)
from frskd_mm.models.losses.self_distill_loss import SelfDistillLoss

STUDENT = [[1.0, -2.0, 0.5], [-3.0, 0.0, 2.0], [0.0, 0.0, 0.0]]
TEACHER = [[2.0, -1.0, -0.5], [-4.0, 1.0, 3.0], [-5.0, -5.0, 1.0]]


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def _binary_kl(t_row, s_row, temperature):
    """T^2 * sum_c KL(Bern(p_c) || Bern(q_c)), written out."""
    total = 0.0
    for t, s in zip(t_row, s_row):
        p, q = _sigmoid(t / temperature), _sigmoid(s / temperature)
        total += p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))
    return temperature**2 * total


@pytest.mark.parametrize('temperature', [1.0, 2.0])
def test_binary_kd_matches_hand_computation(temperature):
    per_prior = [
        _binary_kl(t, s, temperature) for s, t in zip(STUDENT, TEACHER)
    ]
    got = binary_kd_kl_div(
        torch.tensor(STUDENT), torch.tensor(TEACHER), temperature)
    assert got.item() == pytest.approx(sum(per_prior) / 3, rel=1e-6)
    weight = torch.tensor([0.5, 0.0, 2.0])
    got = binary_kd_kl_div(
        torch.tensor(STUDENT), torch.tensor(TEACHER), temperature, weight)
    expected = (0.5 * per_prior[0] + 2.0 * per_prior[2]) / 2.5
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_binary_kd_is_zero_for_equal_scores_and_for_no_weight():
    x = torch.tensor(TEACHER)
    assert binary_kd_kl_div(x, x.clone(), 1.0).item() == pytest.approx(
        0.0, abs=1e-7)
    got = binary_kd_kl_div(
        torch.tensor(STUDENT), x, 1.0, weight=torch.zeros(3))
    assert got.item() == 0.0


def test_binary_kd_is_exact_for_saturated_scores():
    """Logits of +-40 (probabilities that round to 0 or 1 in float32) give
    the finite divergence of the log-sigmoid formula, not inf or nan."""
    student = torch.tensor([[40.0, -40.0]])
    teacher = torch.tensor([[39.0, -38.0]])
    got = binary_kd_kl_div(student, teacher, 1.0)
    assert math.isfinite(got.item()) and got.item() > 0


def test_binary_kd_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match='same shape'):
        binary_kd_kl_div(torch.zeros(2, 3), torch.zeros(2, 4), 1.0)


def _inputs():
    g = torch.Generator().manual_seed(0)
    s_feats = [torch.rand(2, 3, 4, 4, generator=g)]
    t_feats = [torch.rand(2, 3, 4, 4, generator=g)]
    return torch.tensor(STUDENT), torch.tensor(TEACHER), s_feats, t_feats


def test_teacher_score_weighting_and_valid_mask():
    """w_a = valid_a * max_c sigmoid(t_ac); loss_kd = alpha * sum w KL /
    sum w; loss_att = beta * AT."""
    loss = SigmoidSelfDistillLoss(alpha=2.0, beta=10.0, temperature=1.0)
    loss.stop_target_grad = True
    s, t, s_feats, t_feats = _inputs()
    valid = torch.tensor([True, True, False])
    out = loss(s, t, s_feats, t_feats, valid_mask=valid)
    weights = [max(_sigmoid(v) for v in row) for row in TEACHER[:2]]
    per_prior = [_binary_kl(t, s, 1.0) for s, t in zip(STUDENT, TEACHER)]
    expected = sum(w * k for w, k in zip(weights, per_prior)) / sum(weights)
    assert out['loss_kd'].item() == pytest.approx(2.0 * expected, rel=1e-6)
    assert out['loss_att'].item() == pytest.approx(
        10.0 * attention_transfer(s_feats[0], t_feats[0]).item(), rel=1e-6)
    # Unweighted: the plain mean over the valid priors.
    loss.score_weighted = False
    out = loss(s, t, s_feats, t_feats, valid_mask=valid)
    assert out['loss_kd'].item() == pytest.approx(
        2.0 * sum(per_prior[:2]) / 2, rel=1e-6)


def test_it_is_the_hooks_self_distill_loss():
    """FRSKDHook finds SelfDistillLoss modules: the subclass gets the
    stop-gradient and the schedule like the others, and refuses to train
    without them."""
    loss = SigmoidSelfDistillLoss(alpha=1.0, beta=1.0, temperature=1.0)
    assert isinstance(loss, SelfDistillLoss)
    with pytest.raises(RuntimeError, match='FRSKDHook'):
        loss(*_inputs())
    loss.stop_target_grad, loss.scale = True, 0.5
    out = loss(*_inputs())
    loss.scale = 1.0
    assert out['loss_kd'].item() == pytest.approx(
        0.5 * loss(*_inputs())['loss_kd'].item())


@pytest.mark.parametrize('stop_target_grad', [True, False])
def test_gradients_reach_the_student_only_when_detached(stop_target_grad):
    """With the stop-gradient the teacher logits get no gradient; the
    weights never carry one (in eval mode without the flag the teacher
    gets exactly the gradient of the KL with the weights held fixed)."""
    loss = SigmoidSelfDistillLoss(alpha=1.0, beta=1.0, temperature=2.0)
    loss.eval()
    loss.stop_target_grad = stop_target_grad
    s, t, s_feats, t_feats = _inputs()
    s.requires_grad_()
    t.requires_grad_()
    loss(s, t, s_feats, t_feats)['loss_kd'].backward()
    assert s.grad.abs().sum() > 0
    if stop_target_grad:
        assert t.grad is None
        return
    weight = torch.tensor(TEACHER).sigmoid().amax(dim=1)
    t2 = torch.tensor(TEACHER, requires_grad=True)
    binary_kd_kl_div(torch.tensor(STUDENT), t2, 2.0, weight).backward()
    torch.testing.assert_close(t.grad, t2.grad)
