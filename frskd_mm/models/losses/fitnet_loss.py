"""FitNet hint loss (Romero et al., ICLR 2015), the alternative feature term
evaluated in FRSKD's ablation (Ji et al., CVPR 2021, Table 7)."""
from typing import Dict, Sequence

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from frskd_mm.registry import MODELS
from ..utils import LegacyKeysMixin, conv_module_key_map
from .level_channels import BN, RELU, LevelChannelsMixin, level_connectors


@MODELS.register_module()
class FitNetLoss(LevelChannelsMixin, LegacyKeysMixin, nn.Module):
    """MSE between regressed student features and refined features.

    Each level has a regressor ``1x1 conv (no bias) -> norm -> ReLU`` (an
    mmcv ``ConvModule``, :func:`level_connectors`) from the student's
    ``c_i`` channels to the teacher's ``d_i`` channels, built and
    initialised as in the authors' FRSKD code
    (``classification/distill_loss/FitNet.py``): the conv from
    ``N(0, 2 / d_i)`` (Kaiming normal, fan-out), the norm at weight 1 and
    bias 0. The regressors are trained with the student and are not part
    of the deployed model.

    Args:
        student_channels (Sequence[int]): c_1..c_n.
        teacher_channels (Sequence[int]): d_1..d_n.
        norm_cfg (dict): Norm layer of the regressors (mmcv names, e.g.
            ``dict(type='SyncBN')``). Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 student_channels: Sequence[int],
                 teacher_channels: Sequence[int],
                 norm_cfg: dict = BN) -> None:
        super().__init__()
        self._set_level_channels(student_channels, teacher_channels)
        self.regressors = level_connectors(
            student_channels, teacher_channels, norm_cfg, act_cfg=RELU)

    def _legacy_key_map(self) -> Dict[str, str]:
        """Version 1: regressor i was ``nn.Sequential(conv, BN, ReLU)``."""
        mapping = {}
        for i, conv in enumerate(self.regressors):
            mapping.update(
                conv_module_key_map(conv, f'regressors.{i}.',
                                    f'regressors.{i}.0.',
                                    f'regressors.{i}.1.'))
        return mapping

    def forward(self, student_feats: Sequence[Tensor],
                teacher_feats: Sequence[Tensor]) -> Tensor:
        """Args:
            student_feats: F_1..F_n, each (N, c_i, H_i, W_i).
            teacher_feats: T_1..T_n, each (N, d_i, H_i, W_i).

        Returns:
            Tensor: ``sum_i MSE(R_i(F_i), T_i)``, Romero et al.'s hint
            loss per level (mean instead of half the sum), a scalar.
        """
        if len(student_feats) != len(self.regressors) or \
                len(teacher_feats) != len(self.regressors):
            raise ValueError(
                f'FitNetLoss was built for {len(self.regressors)} levels, '
                f'got {len(student_feats)} student and {len(teacher_feats)} '
                'refined levels.')
        return sum(
            F.mse_loss(reg(s), t) for reg, s, t in zip(
                self.regressors, student_feats, teacher_feats))
