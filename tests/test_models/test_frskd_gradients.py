"""Gradient flow of the FRSKD terms through a whole classifier (autograd),
on every device and under bf16/fp16 autocast."""
import copy
import math

import pytest
import torch

from frskd_mm.engine.hooks import FRSKDHook


class _Runner:

    def __init__(self, model):
        self.model = model


def _losses(model, batch, device='cpu'):
    """The four FRSKD losses of ``batch``, with ``model`` and the batch on
    ``device`` (as the data preprocessor would put them)."""
    model.to(device)
    FRSKDHook().before_train(_Runner(model))
    model.train()
    inputs, samples = batch
    return model(
        inputs.to(device), [s.to(device) for s in samples], mode='loss')


def _grads(loss, params):
    grads = torch.autograd.grad(
        loss, params, retain_graph=True, allow_unused=True)
    return [
        torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)
    ]


def test_distillation_gives_zero_gradient_to_every_teacher_parameter(
        build_frskd, batch, device):
    model = build_frskd()
    losses = _losses(model, batch, device)
    teacher = list(model.neck.parameters())
    assert len(teacher) > 0
    for key in ('loss_kd', 'loss_att'):
        assert losses[key].item() > 0
        grads = _grads(losses[key], teacher)
        assert all(torch.count_nonzero(g) == 0 for g in grads), key


def test_teacher_ce_trains_teacher_and_reaches_the_backbone(
        build_frskd, batch, device):
    model = build_frskd()
    losses = _losses(model, batch, device)
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
def test_distillation_trains_the_student(build_frskd, batch, key, device):
    model = build_frskd()
    losses = _losses(model, batch, device)
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
        build_frskd, batch, scale, device):
    """``FRSKDNeck.backbone_grad_scale`` multiplies the gradient the
    teacher's CE sends into the backbone, leaves the teacher's own gradient
    and every student term as they were, and the forward values alone."""
    full, scaled = build_frskd(), build_frskd()
    scaled.neck.backbone_grad_scale = scale
    losses_full = _losses(full, batch, device)
    losses_scaled = _losses(scaled, batch, device)
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


#: Unit roundoff u of the autocast dtypes.
UNIT_ROUNDOFF = {torch.bfloat16: 2.0**-8, torch.float16: 2.0**-11}


def test_gradient_flow_under_autocast(build_frskd, batch, device, amp_dtype,
                                      autocast):
    """The whole FRSKD classifier (WRN-16-2 backbone, FRSKDNeck,
    FRSKDClsHead) under ``torch.autocast``: the gradient flow is structural
    (the distillation targets are detached, the teacher's CE reaches the
    backbone through the neck), so it holds exactly, as in float32:

    * the KD and AT terms give exactly zero gradient to every self-teacher
      parameter, and train the backbone (KD the student classifier too);
    * the teacher's CE trains every self-teacher parameter and reaches the
      backbone, not the student classifier;
    * gradients of the float32 parameters are float32 and finite.

    The losses match the float64 model's (the same weights) within 16 u
    relative (u = 2^-8 bf16, 2^-11 fp16): each is a smooth reduction
    (cross-entropy, KL of float32 log-probabilities, attention maps) of
    outputs that carry a few u of relative rounding after the convolution
    and BN chain; measured on the CPU: <= 2 u.
    """
    model = build_frskd()
    ref = {
        k: v.item()
        for k, v in _losses(
            copy.deepcopy(model).double(), (batch[0].double(),
                                            batch[1])).items()
    }
    with autocast():
        losses = _losses(model, batch, device)
    u = UNIT_ROUNDOFF[amp_dtype]
    for key, value in losses.items():
        assert math.isfinite(value.item()), key
        assert abs(value.item() - ref[key]) <= 16 * u * abs(ref[key]), key
    teacher = list(model.neck.parameters())
    student = list(model.backbone.parameters())
    for key in ('loss_kd', 'loss_att'):
        assert losses[key].item() > 0
        grads = _grads(losses[key], teacher + student)
        assert all(torch.count_nonzero(g) == 0
                   for g in grads[:len(teacher)]), key
        assert any(torch.count_nonzero(g) > 0
                   for g in grads[len(teacher):]), key
    fc = _grads(losses['loss_kd'], [model.head.fc.weight])
    assert torch.count_nonzero(fc[0]) > 0
    head = list(model.head.fc.parameters())
    grads = _grads(losses['loss_teacher'], teacher + student + head)
    nt, ns = len(teacher), len(student)
    assert all(torch.count_nonzero(g) > 0 for g in grads[:nt])
    assert any(torch.count_nonzero(g) > 0 for g in grads[nt:nt + ns])
    assert all(torch.count_nonzero(g) == 0 for g in grads[nt + ns:])
    total = sum(losses[k]
                for k in ('loss_cls', 'loss_teacher', 'loss_kd', 'loss_att'))
    params = [p for p in model.parameters() if p.requires_grad]
    for p, g in zip(params, _grads(total, params)):
        assert g.dtype == torch.float32 and torch.isfinite(g).all()
