"""frskd_mm.analysis.timing: one training step and the statistics of many."""
import pytest
import torch
from mmengine.optim import OptimWrapper

from frskd_mm.analysis import summarize_times, timed_step, train_step
from frskd_mm.analysis.timing import as_float


def test_summarize_times():
    stats = summarize_times([5.0, 1.0, 3.0, 2.0, 4.0])
    assert stats['median_s'] == 3.0
    assert (stats['q25_s'], stats['q75_s'], stats['iqr_s']) == (2.0, 4.0, 2.0)
    assert (stats['min_s'], stats['max_s'], stats['n']) == (1.0, 5.0, 5)
    assert stats['mean_s'] == 3.0
    with pytest.raises(ValueError, match='--iters'):
        summarize_times([])


def test_train_step_updates_the_weights_and_is_timed(build_frskd, batch):
    from frskd_mm.engine.hooks import FRSKDHook

    model = build_frskd()
    model.train()
    # As before training: distillation targets detached.
    FRSKDHook().before_train(type('Runner', (), dict(model=model)))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    inputs, samples = batch
    data = dict(inputs=inputs, data_samples=samples)
    before = model.head.fc.weight.detach().clone()
    log_vars = train_step(model, wrapper, data)
    assert {'loss', 'loss_cls', 'loss_kd', 'loss_att'} <= set(log_vars)
    assert not torch.equal(before, model.head.fc.weight)
    elapsed, log_vars = timed_step(model, wrapper, data, torch.device('cpu'))
    assert elapsed > 0 and torch.isfinite(log_vars['loss'])


def test_as_float():
    assert as_float(torch.tensor([1.0, 3.0])) == 2.0
    assert as_float(2) == 2.0
