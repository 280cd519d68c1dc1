"""The self-teacher draws its random numbers from a stream of its own.

An FRSKD model is its baseline plus a self-teacher. If the self-teacher's
parameters were drawn from the global random stream when they are built
and initialised, every part built after it (the student's head, an
auxiliary head) would start from other weights than in the baseline run of
the same seed, and a paired comparison of the two would mix FRSKD's effect
with that of another initialisation. Built and initialised inside
:func:`teacher_rng`, the self-teacher leaves the global stream where it
was: the student starts from the baseline's weights, bit for bit.
"""
from contextlib import contextmanager
from typing import Iterable, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

#: Added to the run's seed for the self-teacher's stream.
TEACHER_SEED_OFFSET = 7919


@contextmanager
def teacher_rng():
    """Run the block with torch's CPU random stream seeded from the run's
    seed plus :data:`TEACHER_SEED_OFFSET`, and restore the stream after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(
            (torch.initial_seed() + TEACHER_SEED_OFFSET) % (2**63 - 1))
        yield


def init_student_then_teacher(module: BaseModule,
                              student: Iterable[Optional[nn.Module]]) -> None:
    """``BaseModule.init_weights`` of a module holding student and
    self-teacher parts: the ``student`` parts first, from the global
    stream, then everything else from :func:`teacher_rng`'s.

    Args:
        module (BaseModule): The module whose ``init_weights`` this is.
        student (Iterable[nn.Module | None]): Its student submodules.
    """
    for part in student:
        if part is not None and hasattr(part, 'init_weights') and \
                not getattr(part, 'is_init', False):
            part.init_weights()
    with teacher_rng():
        BaseModule.init_weights(module)
