"""When may the self-teacher start to teach? Once it is ahead of the
student."""
import math
from typing import Dict, Optional

import torch
import torch.distributed as dist

from .gradient_sources import loss_term


class TeacherGate:
    """Opens once the self-teacher's training loss is below the student's.

    Soft labels and attention maps of a self-teacher that has learned less
    than the student pull the student towards a worse model; FRSKD's
    premise is a self-teacher ahead of its student. The gate follows
    exponential moving averages of the student's own loss and of the
    self-teacher's (the sums of their loss terms, :func:`~frskd_mm.engine.
    gradient_sources.loss_term`) and opens, for good, at the first
    iteration after ``min_iters`` at which the teacher's average is at
    least ``margin`` (relative) below the student's. Its state is a few
    numbers, saved in checkpoints, so a resumed run opens where the
    uninterrupted one would.

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
        self.momentum = momentum
        self.margin = margin
        self.min_iters = round(1 / (1 - momentum)) if min_iters is None \
            else int(min_iters)
        self.student: Optional[float] = None
        self.teacher: Optional[float] = None
        self.seen = 0
        self.opened_at: Optional[int] = None

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def update(self, iteration: int, log_vars: Dict[str, object]) -> None:
        """Take the losses of training iteration ``iteration`` (from 0);
        open the gate from the next iteration on if the teacher is ahead.

        Args:
            iteration (int): The iteration the losses are of.
            log_vars (dict): The model's logged losses (the Runner's
                ``outputs``); averaged over processes when distributed.
        """
        if self.is_open:
            return
        sums = {'student_ce': 0.0, 'teacher_ce': 0.0}
        found = set()
        for key, value in log_vars.items():
            term = loss_term(key)
            if term in sums and key != 'loss':
                sums[term] += float(value)
                found.add(term)
        if found != set(sums):
            raise KeyError(
                'FRSKDHook(teacher_gate=...) needs the student\'s and the '
                "self-teacher's losses in the logs (loss_cls or "
                'decode.loss_ce, and loss_teacher), got '
                f'{sorted(log_vars)}.')
        student, teacher = sums['student_ce'], sums['teacher_ce']
        if dist.is_available() and dist.is_initialized():
            t = torch.tensor([student, teacher], dtype=torch.float64)
            if dist.get_backend() == 'nccl':
                t = t.cuda()
            dist.all_reduce(t)
            student, teacher = (t / dist.get_world_size()).tolist()
        if not (math.isfinite(student) and math.isfinite(teacher)):
            return
        m = self.momentum
        self.student = student if self.student is None else \
            m * self.student + (1 - m) * student
        self.teacher = teacher if self.teacher is None else \
            m * self.teacher + (1 - m) * teacher
        self.seen += 1
        if self.seen >= self.min_iters and \
                self.teacher <= (1 - self.margin) * self.student:
            self.opened_at = iteration + 1

    def state_dict(self) -> dict:
        return dict(
            student=self.student,
            teacher=self.teacher,
            seen=self.seen,
            opened_at=self.opened_at)

    def load_state_dict(self, state: dict) -> None:
        self.student = state['student']
        self.teacher = state['teacher']
        self.seen = state['seen']
        self.opened_at = state['opened_at']
