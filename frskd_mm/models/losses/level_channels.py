"""Channels of a feature loss that maps each student level to its refined
level (FitNet regressors, OD connectors)."""
from typing import Sequence


class LevelChannelsMixin:
    """``student_channels``/``teacher_channels`` of a feature loss with one
    module per level, and their check against the model's channels.

    Call :meth:`_set_level_channels` in ``__init__``.
    """

    def _set_level_channels(self, student_channels: Sequence[int],
                            teacher_channels: Sequence[int]) -> None:
        if len(student_channels) != len(teacher_channels):
            raise ValueError(
                f'{type(self).__name__} needs one teacher width per student '
                f'level, got {list(student_channels)} and '
                f'{list(teacher_channels)}.')
        self.student_channels = list(student_channels)
        self.teacher_channels = list(teacher_channels)

    def check_channels(self, student_channels: Sequence[int],
                       refined_channels: Sequence[int], key: str) -> None:
        """Raise unless the per-level modules map the model's student
        channels to its refined widths.

        Args:
            student_channels (Sequence[int]): The student's feature
                channels (the backbone stages).
            refined_channels (Sequence[int]): The self-teacher's widths.
            key (str): This loss's config key, e.g.
                ``'model.head.feature_loss'``.
        """
        for name, mine, theirs, what in (
            ('student_channels', self.student_channels, list(student_channels),
             'the backbone stages (model.neck.in_channels)'),
            ('teacher_channels', self.teacher_channels, list(refined_channels),
             "the self-teacher's refined levels (model.neck.width x "
             'model.neck.in_channels, or model.neck.out_channels)')):
            if mine != theirs:
                raise ValueError(
                    f'{key}.{name}={mine} but {what} have {theirs} channels;'
                    f' set {key}.{name}={theirs}.')
