"""Is the self-teacher ahead of its student? Moving averages of their
training losses, the gate of the stable recipe and the warning built on
them."""
import math
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce, is_distributed

from .gradient_sources import loss_term


class LossAverages:
    """Exponential moving averages of the student's and the self-teacher's
    training losses (the sums of their terms, :func:`~frskd_mm.engine.
    gradient_sources.loss_term`), averaged over processes when distributed.

    Args:
        momentum (float): Weight of the old average per iteration, in
            [0, 1).
    """

    def __init__(self, momentum: float = 0.9) -> None:
        if not 0 <= momentum < 1:
            raise ValueError(f'momentum must be in [0, 1), got {momentum}.')
        self.momentum = momentum
        self.student: Optional[float] = None
        self.teacher: Optional[float] = None
        self.seen = 0

    def update(self, log_vars: Dict[str, object]) -> None:
        """Take one iteration's logged losses (the Runner's ``outputs``);
        iterations with a non-finite loss are skipped.

        Raises:
            KeyError: If the student's or the self-teacher's loss is not
                logged.
        """
        sums = {'student_ce': 0.0, 'teacher_ce': 0.0}
        found = set()
        for key, value in log_vars.items():
            term = loss_term(key)
            if term in sums and key != 'loss':
                sums[term] += float(value)
                found.add(term)
        if found != set(sums):
            raise KeyError(
                "FRSKDHook needs the student's and the self-teacher's losses "
                'in the logs (loss_cls or decode.loss_ce, and loss_teacher) '
                f'for teacher_gate and warn_teacher_behind, got '
                f'{sorted(log_vars)}.')
        student, teacher = sums['student_ce'], sums['teacher_ce']
        if is_distributed():
            t = torch.tensor([student, teacher], dtype=torch.float64)
            all_reduce(t, op='mean')
            student, teacher = t.tolist()
        if not (math.isfinite(student) and math.isfinite(teacher)):
            return
        m = self.momentum
        self.student = student if self.student is None else \
            m * self.student + (1 - m) * student
        self.teacher = teacher if self.teacher is None else \
            m * self.teacher + (1 - m) * teacher
        self.seen += 1

    def teacher_ahead(self, margin: float = 0.0) -> bool:
        """Whether the teacher's average is at least ``margin`` (relative)
        below the student's."""
        return self.seen > 0 and self.teacher <= (1 - margin) * self.student

    def state_dict(self) -> dict:
        return dict(student=self.student, teacher=self.teacher, seen=self.seen)

    def load_state_dict(self, state: dict) -> None:
        self.student = state['student']
        self.teacher = state['teacher']
        self.seen = state['seen']


class TeacherGate:
    """Opens once the self-teacher's training loss is below the student's.

    Soft labels and attention maps of a self-teacher that has learned less
    than the student pull the student towards a worse model; FRSKD's
    premise is a self-teacher ahead of its student. The gate opens, for
    good, at the first iteration after ``min_iters`` at which the teacher's
    moving average (:class:`LossAverages`) is at least ``margin`` (relative)
    below the student's. Its state is a few numbers, saved in checkpoints,
    so a resumed run opens where the uninterrupted one would.

    Args:
        momentum (float): Weight of the old average per iteration, in
            [0, 1). Defaults to 0.9 (about 10 iterations).
        margin (float): How far below the student's, relative, the
            teacher's average loss must be, in [0, 1). Defaults to 0.05.
        min_iters (int, optional): Iterations before the gate may open.
            Defaults to ``1 / (1 - momentum)``.
    """

    def __init__(self,
                 momentum: float = 0.9,
                 margin: float = 0.05,
                 min_iters: Optional[int] = None) -> None:
        if not 0 <= momentum < 1 or not 0 <= margin < 1:
            raise ValueError('teacher_gate needs momentum and margin in [0, '
                             f'1), got {momentum} and {margin}.')
        self.losses = LossAverages(momentum)
        self.margin = margin
        self.min_iters = round(1 / (1 - momentum)) if min_iters is None \
            else int(min_iters)
        self.opened_at: Optional[int] = None

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def update(self, iteration: int, log_vars: Dict[str, object]) -> None:
        """Take the losses of training iteration ``iteration`` (from 0);
        open the gate from the next iteration on if the teacher is ahead.
        """
        if self.is_open:
            return
        self.losses.update(log_vars)
        if self.losses.seen >= self.min_iters and \
                self.losses.teacher_ahead(self.margin):
            self.opened_at = iteration + 1

    def state_dict(self) -> dict:
        return dict(self.losses.state_dict(), opened_at=self.opened_at)

    def load_state_dict(self, state: dict) -> None:
        self.losses.load_state_dict(state)
        self.opened_at = state['opened_at']


def behind_warning(iteration: int, max_iters: int,
                   losses: LossAverages) -> str:
    """The warning of ``FRSKDHook(warn_teacher_behind=...)``."""
    return (
        f'FRSKD: at iteration {iteration} of {max_iters} the self-teacher\'s '
        f'training loss ({losses.teacher:.3f}, moving average) is above the '
        f"student's ({losses.student:.3f}) while distillation is on: "
        'loss_kd and loss_att pull the student towards a model that has '
        'learned less than the student itself, which on small data and '
        'short schedules costs accuracy (docs/frskd_study.md). Use the '
        "stable recipe: custom_hooks = [_base_.stable_frskd_hook] with "
        "'configs/_base_/frskd_stable_recipe.py' in _base_ (or "
        'FRSKDHook(teacher_gate=dict(), ramp_teacher_grad=True, '
        'by_ratio=True, ramp=1.0)), or train longer.')
