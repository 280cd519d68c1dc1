"""Gradient flow of the FRSKD terms through a whole classifier (autograd)."""
import pytest
import torch

from frskd_mm.engine.hooks import FRSKDHook


class _Runner:

    def __init__(self, model):
        self.model = model


def _losses(model, batch):
    FRSKDHook().before_train(_Runner(model))
    model.train()
    inputs, samples = batch
    return model(inputs, samples, mode='loss')


def _grads(loss, params):
    grads = torch.autograd.grad(
        loss, params, retain_graph=True, allow_unused=True)
    return [
        torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)
    ]


def test_distillation_gives_zero_gradient_to_every_teacher_parameter(
        build_frskd, batch):
    model = build_frskd()
    losses = _losses(model, batch)
    teacher = list(model.neck.parameters())
    assert len(teacher) > 0
    for key in ('loss_kd', 'loss_att'):
        assert losses[key].item() > 0
        grads = _grads(losses[key], teacher)
        assert all(torch.count_nonzero(g) == 0 for g in grads), key


def test_teacher_ce_trains_teacher_and_reaches_the_backbone(
        build_frskd, batch):
    model = build_frskd()
    losses = _losses(model, batch)
    named = dict(model.neck.named_parameters())
    grads = dict(
        zip(named, _grads(losses['loss_teacher'], list(named.values()))))
    assert torch.count_nonzero(grads['fc.weight']) > 0
    nonzero = [n for n, g in grads.items() if torch.count_nonzero(g) > 0]
    # Every teacher parameter is trained by the teacher's CE.
    assert sorted(nonzero) == sorted(named)
    backbone = _grads(losses['loss_teacher'],
                      list(model.backbone.parameters()))
    assert any(torch.count_nonzero(g) > 0 for g in backbone)
    head = _grads(losses['loss_teacher'], list(model.head.fc.parameters()))
    assert all(torch.count_nonzero(g) == 0 for g in head)


@pytest.mark.parametrize('key', ['loss_kd', 'loss_att'])
def test_distillation_trains_the_student(build_frskd, batch, key):
    model = build_frskd()
    losses = _losses(model, batch)
    grads = _grads(losses[key], list(model.backbone.parameters()))
    assert any(torch.count_nonzero(g) > 0 for g in grads)
    if key == 'loss_kd':
        fc = _grads(losses[key], [model.head.fc.weight])
        assert torch.count_nonzero(fc[0]) > 0


def test_training_without_the_hook_names_it(build_frskd, batch):
    model = build_frskd().train()
    inputs, samples = batch
    with pytest.raises(RuntimeError, match='FRSKDHook'):
        model(inputs, samples, mode='loss')


def test_eval_prediction_never_calls_the_teacher(build_frskd, batch):
    model = build_frskd().eval()
    calls = []
    for m in model.neck.modules():
        if m is not model.neck:
            m.register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        preds = model(batch[0], mode='predict')
    assert len(preds) == 4 and calls == []


@pytest.mark.parametrize('scale', [0.0, 0.25])
def test_backbone_grad_scale_scales_only_the_teachers_gradient(
        build_frskd, batch, scale):
    """``FRSKDNeck.backbone_grad_scale`` multiplies the gradient the
    teacher's CE sends into the backbone, leaves the teacher's own gradient
    and every student term as they were, and the forward values alone."""
    full, scaled = build_frskd(), build_frskd()
    scaled.neck.backbone_grad_scale = scale
    losses_full, losses_scaled = _losses(full, batch), _losses(scaled, batch)
    for key in losses_full:
        assert torch.equal(losses_full[key], losses_scaled[key]), key
    for key, factor in (('loss_teacher', scale), ('loss_cls', 1.0),
                        ('loss_kd', 1.0), ('loss_att', 1.0)):
        ref = _grads(losses_full[key], list(full.backbone.parameters()))
        got = _grads(losses_scaled[key], list(scaled.backbone.parameters()))
        for r, g in zip(ref, got):
            torch.testing.assert_close(g, factor * r, rtol=1e-5, atol=1e-8)
    ref = _grads(losses_full['loss_teacher'], list(full.neck.parameters()))
    got = _grads(losses_scaled['loss_teacher'], list(scaled.neck.parameters()))
    for r, g in zip(ref, got):
        torch.testing.assert_close(g, r)
    if scale == 0:
        assert all(
            torch.count_nonzero(g) == 0
            for g in _grads(losses_scaled['loss_teacher'],
                            list(scaled.backbone.parameters())))
