import math
import os

import pytest
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel

from frskd_mm.engine.hooks import FRSKDHook
from frskd_mm.models.losses.self_distill_loss import SelfDistillLoss


class _Runner:
    def __init__(self, model, iter=0, epoch=0, loader_len=10):
        self.model = model
        self.iter = iter
        self.epoch = epoch
        self.train_dataloader = [None] * loader_len


def test_schedule_warmup_then_linear_ramp():
    hook = FRSKDHook(warmup=10, ramp=20, ramp_type='linear')
    assert [hook.scale_at(t) for t in (0, 9, 10, 20, 30, 100)] == [
        0.0, 0.0, 0.0, 0.5, 1.0, 1.0
    ]


def test_schedule_sigmoid_ramp():
    hook = FRSKDHook(warmup=100, ramp=50, ramp_type='sigmoid')
    assert hook.scale_at(99) == 0.0
    assert hook.scale_at(100) == pytest.approx(math.exp(-5.0))
    assert hook.scale_at(125) == pytest.approx(math.exp(-5.0 * 0.25))
    assert hook.scale_at(150) == 1.0
    assert FRSKDHook().scale_at(0) == 1.0


def test_bad_arguments():
    with pytest.raises(ValueError, match='ramp_type'):
        FRSKDHook(ramp_type='cosine')
    with pytest.raises(ValueError, match='>= 0'):
        FRSKDHook(warmup=-1)


def test_hook_switches_stop_gradient_and_sets_scale(build_frskd):
    model = build_frskd()
    distill = [m for m in model.modules() if isinstance(m, SelfDistillLoss)]
    assert [m.stop_target_grad for m in distill] == [False]
    hook = FRSKDHook(warmup=4, ramp=4)
    runner = _Runner(model, iter=6)
    hook.before_train(runner)
    assert distill[0].stop_target_grad is True
    hook.before_train_iter(runner, batch_idx=0)
    assert distill[0].scale == 0.5


def test_by_epoch_uses_fractional_epochs(build_frskd):
    model = build_frskd()
    hook = FRSKDHook(warmup=1, ramp=2, by_epoch=True)
    runner = _Runner(model, epoch=2, loader_len=10)
    hook.before_train(runner)
    hook.before_train_iter(runner, batch_idx=5)
    assert model.head.distill.scale == pytest.approx(0.75)


def test_model_without_frskd_head_is_refused():
    with pytest.raises(RuntimeError, match='no FRSKD head'):
        FRSKDHook().before_train(_Runner(torch.nn.Linear(2, 2)))


def test_works_through_distributed_data_parallel(build_frskd, batch,
                                                 tmp_path):
    """Under DDP the hook reaches the wrapped model, and a training step
    gives the same gradients as the unwrapped model."""
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    store = dist.FileStore(str(tmp_path / 'store'), 1)
    dist.init_process_group('gloo', store=store, rank=0, world_size=1)
    try:
        ref = build_frskd().train()
        wrapped = MMDistributedDataParallel(
            build_frskd().train(), device_ids=None, broadcast_buffers=False)
        FRSKDHook().before_train(_Runner(ref))
        FRSKDHook().before_train(_Runner(wrapped))
        assert wrapped.module.head.distill.stop_target_grad is True
        inputs, samples = batch
        sum(ref(inputs, samples, mode='loss').values()).backward()
        sum(wrapped(inputs, samples, mode='loss').values()).backward()
        for (name, p), q in zip(ref.named_parameters(),
                                wrapped.module.parameters()):
            torch.testing.assert_close(p.grad, q.grad, msg=name)
    finally:
        dist.destroy_process_group()
