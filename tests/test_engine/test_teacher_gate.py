"""frskd_mm.engine.teacher_gate and FRSKDHook(teacher_gate=...)."""
import pytest

from frskd_mm.engine.gradient_sources import loss_term
from frskd_mm.engine.hooks import FRSKDHook
from frskd_mm.engine.teacher_gate import TeacherGate


def test_loss_terms_by_key():
    assert loss_term('loss') == 'student_ce'
    assert loss_term('loss_cls') == 'student_ce'
    assert loss_term('decode.loss_ce') == 'student_ce'
    assert loss_term('loss_joint') == 'student_ce'  # SLA's student side
    assert loss_term('loss_teacher') == 'teacher_ce'
    assert loss_term('decode.loss_teacher') == 'teacher_ce'
    assert loss_term('loss_teacher_sla') == 'teacher_ce'
    assert loss_term('loss_kd') == 'kd'
    assert loss_term('decode.loss_att') == 'att'
    assert loss_term('decode.acc_seg') is None
    assert loss_term('accuracy_top-1') is None


def test_gate_opens_once_the_teachers_average_is_ahead_by_the_margin():
    gate = TeacherGate(momentum=0.5, margin=0.1, min_iters=2)
    # EMAs (momentum 0.5): student 2, 2, 2; teacher 2, 1.5, 1.25.
    gate.update(0, dict(loss=4.0, loss_cls=2.0, loss_teacher=2.0))
    assert not gate.is_open  # ahead by nothing
    gate.update(1, dict(loss=3.0, loss_cls=2.0, loss_teacher=1.0))
    # teacher 1.5 <= 0.9 * 2 = 1.8: open from iteration 2 on.
    assert gate.opened_at == 2 and gate.losses.teacher == 1.5
    gate.update(2, dict(loss_cls=9.0, loss_teacher=9.0))  # latched
    assert gate.opened_at == 2 and gate.losses.student == 2.0

    early = TeacherGate(momentum=0.5, margin=0.1, min_iters=3)
    for it in range(2):
        early.update(it, dict(loss_cls=2.0, loss_teacher=0.5))
    assert not early.is_open  # not before min_iters updates
    early.update(2, dict(loss_cls=2.0, loss_teacher=0.5))
    assert early.opened_at == 3
    # Non-finite losses are skipped; the state round-trips.
    again = TeacherGate(momentum=0.5, margin=0.1, min_iters=3)
    again.update(0, dict(loss_cls=float('nan'), loss_teacher=1.0))
    assert again.losses.seen == 0
    again.load_state_dict(early.state_dict())
    assert again.state_dict() == early.state_dict()
    assert TeacherGate().min_iters == 10


def test_gate_needs_both_losses_and_sane_arguments():
    with pytest.raises(KeyError, match='loss_teacher'):
        TeacherGate().update(0, dict(loss=1.0, loss_cls=1.0))
    with pytest.raises(ValueError, match='momentum'):
        TeacherGate(momentum=1.0)
    with pytest.raises(ValueError, match='by_epoch'):
        FRSKDHook(by_epoch=True, ramp=2, teacher_gate=dict())


class _Runner:

    def __init__(self, model, iter=0, max_iters=100):
        self.model = model
        self.iter = iter
        self.max_iters = max_iters
        self.epoch = 0


def test_hook_distils_from_the_gate_on_with_the_ramp_over_what_is_left(
        build_frskd):
    model = build_frskd()
    hook = FRSKDHook(
        by_ratio=True,
        ramp=1.0,
        teacher_gate=dict(momentum=0.0, margin=0.0, min_iters=1))
    hook.before_train(_Runner(model))
    scales = []
    for it in range(100):
        runner = _Runner(model, iter=it)
        hook.before_train_iter(runner, batch_idx=0)
        scales.append(model.head.distill.scale)
        teacher = 3.0 if it < 20 else 1.0  # ahead from iteration 20 on
        hook.after_train_iter(
            runner, 0, outputs=dict(loss_cls=2.0, loss_teacher=teacher))
    assert hook.gate.opened_at == 21
    assert scales[:22] == [0.0] * 22
    # Linear over the 79 iterations left: (it - 21) / 79.
    assert scales[60] == pytest.approx(39 / 79)
    assert scales[99] == pytest.approx(78 / 79)
    checkpoint = {}
    hook.before_save_checkpoint(None, checkpoint)
    resumed = FRSKDHook(by_ratio=True, ramp=1.0, teacher_gate=dict())
    resumed.after_load_checkpoint(None, checkpoint)
    assert resumed.gate.opened_at == 21


class _Logger:

    def __init__(self):
        self.warnings = []

    def warning(self, message):
        self.warnings.append(message)


@pytest.mark.parametrize('teacher,scale,warned', [(2.5, 1.0, True),
                                                  (1.5, 1.0, False),
                                                  (2.5, 0.0, False)])
def test_the_warning_fires_once_when_distilling_from_a_teacher_behind(
        build_frskd, teacher, scale, warned):
    model = build_frskd()
    hook = FRSKDHook(warmup=0 if scale else 1000, warn_teacher_behind=0.25)
    hook.before_train(_Runner(model))
    logger = _Logger()
    for it in range(100):
        runner = _Runner(model, iter=it)
        runner.logger = logger
        hook.before_train_iter(runner, batch_idx=0)
        hook.after_train_iter(
            runner, 0, outputs=dict(loss_cls=2.0, loss_teacher=teacher))
        if it < 24:
            assert hook.teacher_check is None
    assert hook.teacher_check['iteration'] == 25
    assert hook.teacher_check['warned'] is warned
    assert len(logger.warnings) == int(warned)
    if warned:
        assert 'frskd_stable_recipe.py' in logger.warnings[0]
        assert 'teacher_gate' in logger.warnings[0]
    checkpoint = {}
    hook.before_save_checkpoint(None, checkpoint)
    resumed = FRSKDHook(warn_teacher_behind=0.25)
    resumed.after_load_checkpoint(None, checkpoint)
    assert resumed.teacher_check == hook.teacher_check
    with pytest.raises(ValueError, match='warn_teacher_behind'):
        FRSKDHook(warn_teacher_behind=1.5)
