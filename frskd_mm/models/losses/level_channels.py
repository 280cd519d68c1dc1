"""Per-level 1x1 connectors of a feature loss that maps each student level
to its refined level (FitNet regressors, OD connectors), and their
channels."""
from typing import Optional, Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule

#: The connectors' default normalisation.
BN = dict(type='BN')
#: The FitNet regressors' activation.
RELU = dict(type='ReLU')


def level_connectors(student_channels: Sequence[int],
                     teacher_channels: Sequence[int],
                     norm_cfg: dict = BN,
                     act_cfg: Optional[dict] = None) -> nn.ModuleList:
    """One ``1x1 conv (no bias) -> norm [-> act]`` per level, from the
    student's ``c_i`` to the teacher's ``d_i`` channels.

    Each is an mmcv ``ConvModule`` with its own initialisation: the conv
    Kaiming normal with fan-out and the ReLU gain, i.e.
    ``N(0, 2 / (k * k * d_i))``, the norm weight 1 and bias 0. That is the
    FRSKD authors' rule for both the FitNet regressors and the OD
    connectors (MingiJi/FRSKD, ``classification/distill_loss/FitNet.py``
    and ``OD.py``: ``normal_(0, sqrt(2 / n))`` with ``n = k * k *
    out_channels``).

    Args:
        student_channels (Sequence[int]): c_1..c_n.
        teacher_channels (Sequence[int]): d_1..d_n.
        norm_cfg (dict): The norm layer (mmcv names, e.g.
            ``dict(type='SyncBN')``). Defaults to BN.
        act_cfg (dict, optional): The activation after the norm; None (the
            OD connectors) for none. Defaults to None.

    Returns:
        nn.ModuleList: The n connectors, level order.
    """
    return nn.ModuleList(
        ConvModule(
            c_s, c_t, 1, bias=False, norm_cfg=norm_cfg, act_cfg=act_cfg)
        for c_s, c_t in zip(student_channels, teacher_channels))


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
