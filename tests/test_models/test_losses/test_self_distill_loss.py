import pytest
import torch

from frskd_mm.models.losses import attention_transfer, kd_kl_div
from frskd_mm.models.losses.self_distill_loss import HOOK_HINT, SelfDistillLoss


def _inputs(device='cpu'):
    """Logits (3, 5) and two levels of features, on ``device``."""
    g = torch.Generator().manual_seed(0)
    s_logits = torch.randn(3, 5, generator=g)
    t_logits = torch.randn(3, 5, generator=g)
    s_feats = [
        torch.rand(3, 2, 4, 4, generator=g),
        torch.rand(3, 4, 2, 2, generator=g)
    ]
    t_feats = [
        torch.rand(3, 4, 4, 4, generator=g),
        torch.rand(3, 8, 2, 2, generator=g)
    ]
    return tuple(
        x.to(device) if torch.is_tensor(x) else [f.to(device) for f in x]
        for x in (s_logits, t_logits, s_feats, t_feats))


def test_refuses_to_run_without_the_hook():
    loss = SelfDistillLoss(alpha=2.0, beta=100.0, temperature=4.0)
    assert loss.training and not loss.stop_target_grad
    with pytest.raises(RuntimeError, match='FRSKDHook') as info:
        loss(*_inputs())
    assert HOOK_HINT in str(info.value)


def _grad_inputs(device='cpu'):
    s_logits, t_logits, s_feats, t_feats = _inputs(device)
    for t in [s_logits, t_logits] + s_feats + t_feats:
        t.requires_grad_()
    return s_logits, t_logits, s_feats, t_feats


@pytest.mark.parametrize('stop_target_grad', [True, False])
def test_eval_mode_detaches_only_when_the_flag_is_on(stop_target_grad, device):
    """In eval mode a call without the flag does not raise; it gives the
    same values, but its targets are not detached: a backward pass reaches
    them (the self-teacher). With the flag on they get no gradient."""
    loss = SelfDistillLoss(alpha=2.0, beta=10.0, temperature=4.0).eval()
    loss.stop_target_grad = stop_target_grad
    s_logits, t_logits, s_feats, t_feats = _grad_inputs(device)
    out = loss(s_logits, t_logits, s_feats, t_feats)
    flagged = SelfDistillLoss(alpha=2.0, beta=10.0, temperature=4.0)
    flagged.stop_target_grad = True
    ref = flagged(s_logits, t_logits, s_feats, t_feats)
    for key in ('loss_kd', 'loss_att'):
        assert torch.equal(out[key], ref[key]), key
    targets = [t_logits] + t_feats
    grads = torch.autograd.grad(
        out['loss_kd'] + out['loss_att'], targets, allow_unused=True)
    if stop_target_grad:
        assert all(g is None for g in grads)
    else:
        assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_weights_and_schedule_scale(device):
    s_logits, t_logits, s_feats, t_feats = _inputs(device)
    loss = SelfDistillLoss(alpha=2.0, beta=100.0, temperature=4.0)
    loss.stop_target_grad = True
    loss.scale = 0.5
    out = loss(s_logits, t_logits, s_feats, t_feats)
    kd = kd_kl_div(s_logits, t_logits, 4.0)
    at = sum(attention_transfer(s, t) for s, t in zip(s_feats, t_feats))
    assert out['loss_kd'].item() == pytest.approx(
        2.0 * 0.5 * kd.item(), rel=1e-6)
    assert out['loss_att'].item() == pytest.approx(
        100.0 * 0.5 * at.item(), rel=1e-6)


def test_targets_receive_no_gradient(device):
    s_logits, t_logits, s_feats, t_feats = _inputs(device)
    s_logits.requires_grad_()
    t_logits.requires_grad_()
    for f in s_feats + t_feats:
        f.requires_grad_()
    loss = SelfDistillLoss(alpha=1.0, beta=1.0, temperature=4.0)
    loss.stop_target_grad = True
    out = loss(s_logits, t_logits, s_feats, t_feats)
    (out['loss_kd'] + out['loss_att']).backward()
    assert t_logits.grad is None
    assert all(f.grad is None for f in t_feats)
    assert s_logits.grad.abs().sum() > 0
    assert all(f.grad.abs().sum() > 0 for f in s_feats)


def test_unknown_feature_loss_type_is_a_clear_error():
    with pytest.raises(KeyError, match="Unknown FRSKD feature loss type"):
        SelfDistillLoss(1.0, 1.0, 4.0, feature_loss=dict(type='NoSuchLoss'))
    with pytest.raises(ValueError, match='temperature'):
        SelfDistillLoss(1.0, 1.0, 0.0)
