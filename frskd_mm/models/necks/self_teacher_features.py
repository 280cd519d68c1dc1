"""The neck's training-time output: student features plus teacher targets."""
from typing import Optional, Sequence

from torch import Tensor


class SelfTeacherFeatures(tuple):
    """The backbone's features F_1..F_n, carrying the self-teacher's outputs.

    It is a plain tuple of the student features, so any head, auxiliary head
    or metric that indexes the neck's output sees exactly what the backbone
    produced; FRSKD heads read the extra attributes.

    Attributes:
        refined (tuple[Tensor]): Refined features T_1..T_n, level i of shape
            (N, d_i, H_i, W_i).
        teacher_logits (Tensor | None): The self-teacher's class logits,
            shape (N, num_classes), or None when the neck has no classifier
            (segmentation heads decode ``refined`` themselves).
        student_preact (tuple[Tensor] | None): F_1..F_n before their last
            ReLU, when a feature loss asked for them (the OD loss), else
            None.
        refined_preact (tuple[Tensor] | None): T_1..T_n before their ReLU,
            likewise.
    """

    refined: tuple
    teacher_logits: Optional[Tensor]
    student_preact: Optional[tuple]
    refined_preact: Optional[tuple]

    def __new__(cls,
                student: Sequence[Tensor],
                refined: Sequence[Tensor],
                teacher_logits: Optional[Tensor] = None,
                student_preact: Optional[Sequence[Tensor]] = None,
                refined_preact: Optional[Sequence[Tensor]] = None):
        obj = super().__new__(cls, student)
        obj.refined = tuple(refined)
        obj.teacher_logits = teacher_logits
        obj.student_preact = None if student_preact is None else tuple(
            student_preact)
        obj.refined_preact = None if refined_preact is None else tuple(
            refined_preact)
        return obj
