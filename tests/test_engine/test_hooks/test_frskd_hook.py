import glob
import math
import os
import os.path as osp

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
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
    assert [hook.scale_at(t) for t in (0, 9, 10, 20, 30, 100)
            ] == [0.0, 0.0, 0.0, 0.5, 1.0, 1.0]


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


def test_the_hook_is_what_stops_the_distillation_gradient(build_frskd, batch):
    """Without the hook training raises; with it loss_kd and loss_att give
    zero gradient to the self-teacher, because the flag it switches on makes
    them detach their targets (off, in eval mode, they reach it)."""
    model = build_frskd().train()
    inputs, samples = batch
    with pytest.raises(RuntimeError, match='FRSKDHook'):
        model(inputs, samples, mode='loss')
    FRSKDHook().before_train(_Runner(model))
    teacher = list(model.neck.parameters())

    def distill_grads():
        losses = model(inputs, samples, mode='loss')
        assert losses['loss_kd'] > 0 and losses['loss_att'] > 0
        grads = torch.autograd.grad(
            losses['loss_kd'] + losses['loss_att'], teacher, allow_unused=True)
        return [g for g in grads if g is not None]

    assert all(torch.count_nonzero(g) == 0 for g in distill_grads())
    model.head.distill.stop_target_grad = False
    model.head.distill.eval()  # allowed without the flag, not detached
    assert any(torch.count_nonzero(g) > 0 for g in distill_grads())


def _scale(hook_cfg: dict, iteration: int, max_iters: int) -> float:
    """The distillation factor ``FRSKDHook(**hook_cfg)`` sets before
    ``iteration`` of a ``max_iters``-iteration training."""
    hook = FRSKDHook(**{k: v for k, v in hook_cfg.items() if k != 'type'})
    loss = SelfDistillLoss(1.0, 1.0, 1.0)
    hook._losses = [loss]  # what before_train finds in a model
    runner = _Runner(None, iter=iteration)
    runner.max_iters = max_iters
    hook.before_train_iter(runner, batch_idx=0)
    return loss.scale


def _seg_schedule_40k(iteration: int) -> float:
    """The 40k-iteration schedule of configs/_base_/frskd_seg_runtime.py
    written in iterations:
    ``FRSKDHook(warmup=26667, ramp=13333, ramp_type='sigmoid')``."""
    if iteration < 26667:
        return 0.0
    t = min((iteration - 26667) / 13333, 1.0)
    return math.exp(-5.0 * (1.0 - t)**2)


def test_seg_runtime_schedule_keeps_40k_and_follows_max_iters():
    root = osp.dirname(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    paths = []
    for path in sorted(glob.glob(osp.join(root, 'configs', 'frskd', '*.py'))):
        with open(path) as f:
            if 'frskd_seg_runtime.py' in f.read():
                paths.append(path)
    assert len(paths) >= 4
    for path in paths:
        cfg = Config.fromfile(path)
        hook, = cfg.custom_hooks
        assert hook.by_ratio and cfg.train_cfg.max_iters == 40000, path
        # At 40k iterations, the same schedule written in iterations.
        for it in (0, 26666, 26667, 30000, 33333, 36000, 39999, 40000):
            assert _scale(hook, it, 40000) == pytest.approx(
                _seg_schedule_40k(it), rel=1e-3, abs=1e-4), (path, it)
        assert _scale(hook, 26666, 40000) == 0.0
        assert _scale(hook, 40000, 40000) == 1.0
        # Another schedule length: off for 2/3, then the ramp.
        assert _scale(hook, 1999, 3000) == 0.0
        assert _scale(hook, 2000, 3000) == pytest.approx(math.exp(-5.0))
        assert _scale(hook, 2500, 3000) == pytest.approx(math.exp(-1.25))
        assert _scale(hook, 3000, 3000) == 1.0


def test_by_epoch_uses_fractional_epochs(build_frskd):
    model = build_frskd()
    hook = FRSKDHook(warmup=1, ramp=2, by_epoch=True)
    runner = _Runner(model, epoch=2, loader_len=10)
    hook.before_train(runner)
    hook.before_train_iter(runner, batch_idx=5)
    assert model.head.distill.scale == pytest.approx(0.75)


def test_epoch_steps_hold_the_authors_per_epoch_factor(build_frskd):
    """MingiJi/FRSKD segmentation/main.py: 0 for epochs 0..39, then
    exp(-5 (1 - (epoch + 1 - 40) / 20)^2), constant through each epoch."""
    model = build_frskd()
    hook = FRSKDHook(
        warmup=40,
        ramp=20,
        ramp_type='sigmoid',
        by_epoch=True,
        epoch_steps=True)
    hook.before_train(_Runner(model))
    seen = {}
    for epoch in (0, 39, 40, 41, 50, 58, 59):
        for batch_idx in (0, 9):
            runner = _Runner(model, epoch=epoch, loader_len=10)
            hook.before_train_iter(runner, batch_idx=batch_idx)
            seen.setdefault(epoch, set()).add(model.head.distill.scale)
    assert all(len(v) == 1 for v in seen.values())
    seen = {e: v.pop() for e, v in seen.items()}
    assert seen[0] == seen[39] == 0.0
    for epoch in (40, 41, 50, 58):
        t = (epoch + 1 - 40) / 20
        assert seen[epoch] == pytest.approx(math.exp(-5.0 * (1 - t)**2))
    assert seen[59] == 1.0


def test_epoch_steps_need_by_epoch():
    with pytest.raises(ValueError, match='needs by_epoch=True'):
        FRSKDHook(warmup=40, ramp=20, epoch_steps=True)


def test_model_without_frskd_head_is_refused():
    with pytest.raises(RuntimeError, match='no FRSKD head'):
        FRSKDHook().before_train(_Runner(torch.nn.Linear(2, 2)))


def test_works_through_distributed_data_parallel(build_frskd, batch, tmp_path):
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


# ---------------------------------------------------------------------------
# Config mistakes stop before the first iteration, naming both keys.
# ---------------------------------------------------------------------------


def _built(neck=None, head=None, backbone=None):
    from conftest import frskd_classifier_cfg
    from mmpretrain.registry import MODELS
    cfg = frskd_classifier_cfg(num_classes=5)
    cfg['neck'].update(neck or {})
    cfg['head'].update(head or {})
    cfg['backbone'].update(backbone or {})
    return MODELS.build(cfg)


@pytest.mark.parametrize('parts, match', [
    (dict(neck=dict(num_classes=6)),
     r'model.neck.num_classes=6 but model.head.num_classes=5: .* Set both'),
    (dict(neck=dict(num_classes=None)),
     r'model.neck.num_classes is not set.* set model.neck.num_classes=5'),
    (dict(head=dict(in_channels=64)),
     r'model.head.in_channels=64 but the last backbone stage has 128 '
     r'channels .* Set model.head.in_channels=128'),
    (dict(neck=dict(in_channels=[32, 64, 100])),
     r'level 2: expected 100 channels .*model.neck.in_channels must equal '
     r'the backbone stage channels \[32, 64, 128\]'),
    (dict(backbone=dict(out_indices=(1, 2))),
     r'configured for 3 levels .* returned 2 feature maps \[64, 128\]\. '
     r'Set model.backbone.out_indices'),
    (dict(
        head=dict(
            feature_loss=dict(
                type='FitNetLoss',
                student_channels=[32, 64, 100],
                teacher_channels=[64, 128, 256]))),
     r'model.head.feature_loss.student_channels=\[32, 64, 100\] but the '
     r'backbone stages .* have \[32, 64, 128\] channels; set '
     r'model.head.feature_loss.student_channels=\[32, 64, 128\]'),
    (dict(
        head=dict(
            feature_loss=dict(
                type='FitNetLoss',
                student_channels=[32, 64, 128],
                teacher_channels=[32, 64, 128]))),
     r'model.head.feature_loss.teacher_channels=\[32, 64, 128\] but the '
     r"self-teacher's refined levels .* have \[64, 128, 256\] channels"),
])
def test_config_mismatches_stop_before_training(parts, match):
    model = _built(**parts)
    with pytest.raises(ValueError, match=match):
        FRSKDHook().before_train(_Runner(model))


def test_a_consistent_model_passes_and_is_left_as_it_was(build_frskd):
    model = build_frskd().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    FRSKDHook().before_train(_Runner(model))
    assert model.training and model.backbone.training
    for k, v in model.state_dict().items():  # the probe changed nothing
        assert torch.equal(v, before[k]), k


def test_segmentation_neck_with_classes_is_refused():
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    cfg = dict(
        type='EncoderDecoder',
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            base_channels=16,
            stem_channels=16,
            out_indices=(0, 1, 2, 3)),
        neck=dict(
            type='FRSKDNeck', in_channels=[16, 32, 64, 128], num_classes=21),
        decode_head=dict(
            type='FRSKDSegHead',
            student=dict(
                type='FCNHead',
                in_channels=128,
                in_index=3,
                channels=16,
                num_convs=1,
                num_classes=4),
            teacher=dict(in_channels=32)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg)
    with pytest.raises(
            ValueError,
            match=r'model.neck.num_classes=21 .* '
            r'model.decode_head.student.num_classes=4 classes\. '
            r'Remove model.neck.num_classes'):
        FRSKDHook().before_train(_Runner(model))


# ---------------------------------------------------------------------------
# Non-finite losses.
# ---------------------------------------------------------------------------


class _LoopRunner(_Runner):
    train_loop = object()


def _log_vars(**values):
    return {k: torch.tensor(v) for k, v in values.items()}


def test_first_nonfinite_terms_are_named_with_the_iteration():
    hook = FRSKDHook()
    runner = _LoopRunner(None, iter=11)
    hook.after_train_iter(
        runner,
        0,
        outputs=_log_vars(
            loss_cls=2.3,
            loss_teacher=2.2,
            loss_kd=0.1,
            loss_att=0.2,
            loss=4.8,
            accuracy=0.5))
    with pytest.raises(FloatingPointError) as info:
        hook.after_train_iter(
            runner,
            0,
            outputs=_log_vars(
                loss_cls=2.3,
                loss_teacher=float('inf'),
                loss_kd=float('nan'),
                loss_att=0.2,
                loss=float('nan')))
    message = str(info.value)
    assert message.startswith('FRSKD: non-finite loss at iteration 12: '
                              'loss_teacher=inf, loss_kd=nan (finite: '
                              'loss_cls, loss_att).')
    assert 'stop_on_nonfinite=False' in message
    assert 'optim_wrapper.optimizer.lr' in message


def test_nonfinite_check_can_be_switched_off():
    FRSKDHook(stop_on_nonfinite=False).after_train_iter(
        _LoopRunner(None), 0, outputs=_log_vars(loss_cls=float('nan')))


def test_segmentation_loss_keys_are_checked_too():
    with pytest.raises(
            FloatingPointError,
            match=r'decode.loss_kd=nan \(finite: decode.loss_ce'):
        FRSKDHook().after_train_iter(
            _LoopRunner(None),
            0,
            outputs=_log_vars(
                **{
                    'decode.loss_ce': 1.0,
                    'decode.loss_kd': float('nan'),
                    'decode.acc_seg': 50.0
                }))


def test_by_ratio_counts_fractions_of_the_whole_training(build_frskd):
    model = build_frskd()
    hook = FRSKDHook(warmup=0.5, ramp=0.25, by_ratio=True)
    runner = _Runner(model, iter=70)
    runner.max_iters = 100
    hook.before_train(runner)
    hook.before_train_iter(runner, batch_idx=0)
    assert model.head.distill.scale == pytest.approx(0.8)
    runner.iter = 49
    hook.before_train_iter(runner, batch_idx=0)
    assert model.head.distill.scale == 0.0
    with pytest.raises(ValueError, match='fractions of training'):
        FRSKDHook(warmup=2, by_ratio=True)
    with pytest.raises(ValueError, match='exclude each other'):
        FRSKDHook(by_ratio=True, by_epoch=True)


# ---------------------------------------------------------------------------
# The stable recipe's options: the teacher's gradient ramp, the balance.
# ---------------------------------------------------------------------------
def _teacher_backbone_grad(model, inputs, samples):
    losses = model(inputs, samples, mode='loss')
    params = list(model.backbone.parameters())
    grads = torch.autograd.grad(
        losses['loss_teacher'], params, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).flatten()
                      for p, g in zip(params, grads)])


def test_ramp_teacher_grad_scales_the_teachers_gradient_into_the_backbone(
        build_frskd, batch):
    model = build_frskd().train()
    inputs, samples = batch
    hook = FRSKDHook(warmup=2, ramp=4, ramp_teacher_grad=True)
    hook.before_train(_Runner(model))
    full = _teacher_backbone_grad(model, inputs, samples)
    assert full.norm() > 0
    for it, factor in ((0, 0.0), (1, 0.0), (3, 0.25), (6, 1.0), (9, 1.0)):
        hook.before_train_iter(_Runner(model, iter=it), batch_idx=0)
        assert model.neck.grad_factor == factor == model.head.distill.scale
        torch.testing.assert_close(
            _teacher_backbone_grad(model, inputs, samples), factor * full)
    # backbone_grad_scale multiplies on top; without the option the
    # teacher's gradient is not scheduled.
    model.neck.backbone_grad_scale = 0.5
    hook.before_train_iter(_Runner(model, iter=3), batch_idx=0)
    torch.testing.assert_close(
        _teacher_backbone_grad(model, inputs, samples), 0.125 * full)
    plain = FRSKDHook(warmup=2, ramp=4)
    model.neck.grad_factor = 1.0
    plain.before_train(_Runner(model))
    plain.before_train_iter(_Runner(model, iter=0), batch_idx=0)
    assert model.neck.grad_factor == 1.0 and model.head.distill.scale == 0


class _Hub:

    def __init__(self):
        self.scalars = {}

    def update_scalar(self, key, value):
        self.scalars[key] = value


def test_grad_balance_measures_every_interval_and_bounds_the_teacher(
        build_frskd, monkeypatch):
    """The factor of each iteration is balance_factor of the last
    measurement at that iteration's weights; measurements are taken every
    ``interval`` iterations on ``samples`` images, and the last one is
    saved in and restored from checkpoints."""
    import frskd_mm.engine.hooks.frskd_hook as frskd_hook
    model = build_frskd().train()
    calls = []
    # |g_student| = 1; teacher (1, 0), kd (0, 2), att 0.
    stats = dict(
        student=1.0, gram=[[1.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0] * 3])

    def fake_source_gradients(m, data_batch, max_samples):
        calls.append((data_batch, max_samples))
        return 'grads'

    monkeypatch.setattr(frskd_hook, 'source_gradients', fake_source_gradients)
    monkeypatch.setattr(frskd_hook, 'balance_stats', lambda g: stats)
    hook = FRSKDHook(
        by_ratio=True,
        ramp=1.0,
        ramp_teacher_grad=True,
        grad_balance=dict(ratio=0.5, interval=3, samples=2))
    hook.before_train(_Runner(model))
    seen = []
    for it in range(7):
        runner = _Runner(model, iter=it)
        runner.max_iters = 10
        runner.message_hub = _Hub()
        hook.before_train_iter(runner, batch_idx=0, data_batch={'it': it})
        s = it / 10
        # |e| = s * sqrt(1 + 4) at factor 1: the bound 0.5 / (s sqrt(5)).
        c = 1.0 if s == 0 else min(1.0, 0.5 / (s * math.sqrt(5)))
        assert model.head.distill.scale == pytest.approx(s * c)
        assert model.neck.grad_factor == pytest.approx(s * c)
        assert runner.message_hub.scalars['train/grad_balance'] == \
            pytest.approx(c)
        seen.append(it)
    assert [c[0]['it'] for c in calls] == [0, 3, 6]
    assert all(c[1] == 2 for c in calls)
    checkpoint = {}
    hook.before_save_checkpoint(None, checkpoint)
    assert checkpoint['meta']['frskd_grad_balance'] == stats
    resumed = FRSKDHook(
        by_ratio=True, grad_balance=dict(ratio=0.5, interval=3))
    resumed.after_load_checkpoint(None, checkpoint)
    assert resumed.stats == stats


def test_grad_balance_arguments_are_checked():
    with pytest.raises(ValueError, match='takes ratio'):
        FRSKDHook(grad_balance=dict(interval=3))
    with pytest.raises(ValueError, match='takes ratio'):
        FRSKDHook(grad_balance=dict(ratio=1.0, every=3))
    with pytest.raises(ValueError, match='ratio > 0'):
        FRSKDHook(grad_balance=dict(ratio=0.0))
    hook = FRSKDHook(grad_balance=dict(ratio=1.0))
    assert hook.grad_balance == dict(ratio=1.0, interval=10, samples=16)
