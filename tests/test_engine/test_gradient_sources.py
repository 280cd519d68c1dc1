"""frskd_mm.engine.gradient_sources: each term's gradient into the
backbone, measured without changing the run, and the balance factor."""
import math

import pytest
import torch
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from frskd_mm.engine.gradient_sources import (balance_factor, balance_stats,
                                              source_gradients)
from frskd_mm.engine.hooks import FRSKDHook, GradientSourceHook
from frskd_mm.engine.hooks.gradient_source_hook import gradient_scalars


class _Runner:

    def __init__(self, model):
        self.model = model
        self.iter = 0


def _data_batch(n=4, num_classes=5):
    g = torch.Generator().manual_seed(3)
    inputs = [
        torch.randint(0, 256, (3, 32, 32), generator=g, dtype=torch.uint8)
        for _ in range(n)
    ]
    samples = [DataSample().set_gt_label(i % num_classes) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def _per_term_reference(model, data_batch):
    """Each term's backbone gradient by autograd, one term at a time, with
    the distillation factor and the teacher's gradient scale at 1."""
    params = list(model.backbone.parameters())
    data = model.data_preprocessor(data_batch, True)
    losses = model(**data, mode='loss')
    names = dict(
        loss_cls='student_ce',
        loss_teacher='teacher_ce',
        loss_kd='kd',
        loss_att='att')
    out = {}
    for key, term in names.items():
        grads = torch.autograd.grad(
            losses[key], params, retain_graph=True, allow_unused=True)
        out[term] = torch.cat([
            torch.zeros_like(p).flatten() if g is None else g.flatten()
            for p, g in zip(params, grads)
        ])
    return out


def test_source_gradients_are_each_terms_and_leave_the_run_as_it_was(
        build_frskd):
    model = build_frskd().train()
    hook = FRSKDHook(warmup=5, ramp_teacher_grad=True)
    hook.before_train(_Runner(model))
    runner = _Runner(model)
    hook.before_train_iter(runner, 0)  # in warm-up: factors 0
    assert model.head.distill.scale == 0.0 and model.neck.grad_factor == 0.0
    data_batch = _data_batch()
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(11)
    grads = source_gradients(model, data_batch)
    after_rng = torch.rand(1)
    # The factors, buffers (BN statistics), parameters' .grad and the
    # random state are as before.
    assert model.head.distill.scale == 0.0 and model.neck.grad_factor == 0.0
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, buffers[k], rtol=0, atol=0, msg=k)
    assert all(p.grad is None for p in model.parameters())
    torch.manual_seed(11)
    assert torch.equal(torch.rand(1), after_rng)
    # Measured at full weight: equal to autograd term by term.
    model.head.distill.scale = 1.0
    model.neck.grad_factor = 1.0
    reference = _per_term_reference(model, data_batch)
    assert set(grads) == set(reference)
    for term, g in reference.items():
        assert g.norm() > 0, term
        torch.testing.assert_close(grads[term], g, rtol=1e-4, atol=1e-7)
    # A subset of the batch is another measurement.
    part = source_gradients(model, data_batch, max_samples=2)
    assert not torch.allclose(part['student_ce'], grads['student_ce'])


def test_balance_factor_bounds_the_teachers_part_exactly():
    g = dict(
        student_ce=torch.tensor([3.0, 4.0, 0.0]),  # norm 5
        teacher_ce=torch.tensor([10.0, 0.0, 0.0]),
        kd=torch.tensor([0.0, 20.0, 0.0]),
        att=torch.tensor([0.0, 0.0, 0.0]))
    stats = balance_stats(g)
    assert stats['student'] == 5.0
    assert stats['gram'][0] == [100.0, 0.0, 0.0]
    assert stats['gram'][1] == [0.0, 400.0, 0.0]
    # e = 1 * (10, 0, 0) + 0.5 * (0, 20, 0): |e| = sqrt(200).
    w = dict(teacher_ce=1.0, kd=0.5, att=0.5)
    assert balance_factor(stats, w, 1.0) == pytest.approx(5 / math.sqrt(200))
    assert balance_factor(stats, w, 2.0) == pytest.approx(10 / math.sqrt(200))
    assert balance_factor(stats, w, 10.0) == 1.0  # already within the bound
    assert balance_factor(stats, dict(teacher_ce=0.0, kd=0.0, att=0.0),
                          1.0) == 1.0
    # Opposite directions cancel: the bound is on the sum, not the parts.
    g['kd'] = torch.tensor([-10.0, 0.0, 0.0])
    assert balance_factor(
        balance_stats(g), dict(teacher_ce=1.0, kd=1.0, att=1.0), 1.0) == 1.0


def test_gradient_source_hook_logs_norms_cosines_and_bn_statistics(
        build_frskd):
    model = build_frskd().train()
    FRSKDHook(warmup=0, ramp=10).before_train(_Runner(model))
    model.head.distill.scale = 0.25
    data_batch = _data_batch()
    scalars = gradient_scalars(model, data_batch)
    model.head.distill.scale = 1.0
    reference = _per_term_reference(model, data_batch)
    for term in ('student_ce', 'teacher_ce', 'kd', 'att'):
        raw = float(reference[term].norm())
        assert scalars[f'grad/{term}_raw'] == pytest.approx(raw, rel=1e-4)
    assert scalars['grad/kd'] == pytest.approx(0.25 * scalars['grad/kd_raw'])
    assert scalars['grad/teacher_ce'] == pytest.approx(
        scalars['grad/teacher_ce_raw'])
    cos = torch.nn.functional.cosine_similarity(
        reference['kd'], reference['student_ce'], dim=0)
    assert scalars['grad_cos/kd-student_ce'] == pytest.approx(
        float(cos), abs=1e-4)
    assert scalars['weight_norm/backbone'] > 0
    # Fresh BN statistics (running var 1) against the first batch's.
    assert 0 < scalars['bn_var_ratio/min'] <= scalars['bn_var_ratio/max']


def test_gradient_source_hook_is_invisible_to_training(build_frskd):
    """A step with the hook's measurement before it gives the same
    parameters as a step without it."""
    data_batch = _data_batch()
    results = []
    for measure in (False, True):
        model = build_frskd().train()
        FRSKDHook().before_train(_Runner(model))
        optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        if measure:
            runner = _Runner(model)
            runner.message_hub = _Hub()
            GradientSourceHook(interval=1).before_train_iter(
                runner, 0, data_batch)
            assert 'train/grad/kd' in runner.message_hub.scalars
        data = model.data_preprocessor(data_batch, True)
        sum(model(**data, mode='loss').values()).backward()
        optim.step()
        results.append(model.state_dict())
    for k, v in results[0].items():
        torch.testing.assert_close(results[1][k], v, rtol=0, atol=0, msg=k)


class _Hub:

    def __init__(self):
        self.scalars = {}

    def update_scalar(self, key, value):
        self.scalars[key] = value


class _PerLevelLosses(BaseModel):
    """A model whose loss dict holds per-level lists, as MMDetection's
    dense heads return them, beside a loss that is no loss (``acc``)."""

    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Linear(2, 2, bias=False)

    def forward(self, inputs, mode):
        y = self.backbone(inputs)
        return dict(
            loss_cls=[y[:, 0].pow(2).sum(), y[:, 1].sum()],
            loss_teacher=[3 * y[:, 1].mean()],
            acc=torch.tensor(1.0))


def test_per_level_loss_lists_are_measured_as_mmengine_adds_them():
    model = _PerLevelLosses()
    x = torch.tensor([[1.0, 2.0]])
    with torch.no_grad():
        model.backbone.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    grads = source_gradients(model, dict(inputs=x))
    # d/dW of y0^2 + y1 (y = W x): row 0 is 2 y0 x = (2, 4), row 1 is x.
    torch.testing.assert_close(grads['student_ce'],
                               torch.tensor([2.0, 4.0, 1.0, 2.0]))
    torch.testing.assert_close(grads['teacher_ce'],
                               torch.tensor([0.0, 0.0, 3.0, 6.0]))
    assert balance_stats(grads)['student'] == pytest.approx(math.sqrt(25))


def test_a_model_without_a_student_loss_cannot_be_balanced():
    with pytest.raises(ValueError, match="no loss of the student's own"):
        balance_stats(dict(teacher_ce=torch.ones(3)))
