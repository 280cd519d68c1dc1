"""MMPretrain head for FRSKD + SLA (Ji et al., CVPR 2021, with Lee et al.,
ICML 2020)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.structures import DataSample
from torch import Tensor

from frskd_mm.registry import MODELS
from ..losses.kd_loss import kd_kl_div
from ..necks.frskd_neck import FRSKDNeck, SelfTeacherFeatures
from ..utils.sla import (NUM_ROTATIONS, aggregate_joint_logits, hard_labels,
                         joint_targets)
from .frskd_cls_head import FRSKDClsHead


@MODELS.register_module()
class FRSKDSLAClsHead(FRSKDClsHead):
    """FRSKD with self-supervised label augmentation (SLA-SD) on the student
    and on the self-teacher.

    The FRSKD authors' ``--aux sla`` (MingiJi/FRSKD,
    ``classification/distill_loss/sla.py`` and the SLA branch of
    ``classification/utils.py: train``). Used with
    :class:`~frskd_mm.models.classifiers.SLAImageClassifier`, which runs
    backbone and self-teacher (:class:`~frskd_mm.models.necks.FRSKDNeck`)
    once on the N images and once more on their 4N rotations (rows
    ``b * 4 + k``). With F_i, T_i the student and refined features of the
    plain images and F'_i, T'_i those of the rotated ones, the head has two
    joint classifiers of the 4 * C labels (class, rotation): ``joint_fc``
    on the pooled F'_n (the student's) and ``teacher_joint_fc`` on the
    pooled T'_n (the self-teacher's; the authors keep it in their loss
    module). Both are training-only: prediction and the exported student
    use ``fc`` alone, as :class:`FRSKDClsHead`.

    ``loss`` returns, with s, t the single student and teacher logits of
    the plain images, j_s, j_t the joint logits (4N, 4C) and a_s, a_t their
    aggregation over the rotations (N, C):

    - ``loss_cls``, ``loss_teacher``: as :class:`FRSKDClsHead` on s and t;
    - ``loss_joint``, ``loss_teacher_joint``: ``joint_loss`` on j_s and
      j_t, labels ``class * 4 + k``;
    - ``loss_sla``, ``loss_teacher_sla``: ``sla_weight * T^2 * KL(p_a ||
      p_single)`` for (a_s, s) and (a_t, t); the aggregated logits are
      targets without gradient (the authors' ``DistillKL`` detaches them),
      so these terms train s and t, never the joint classifiers;
    - ``loss_kd``, ``loss_att``: FRSKD's distillation
      (:class:`~frskd_mm.models.losses.self_distill_loss.SelfDistillLoss`,
      scheduled and stopped at the targets by ``FRSKDHook``) on the
      concatenations the authors' train loop passes: logits ``[s; a_s]``
      from ``[t; a_t]`` (2N rows) and features ``[F_i; F'_i]`` from
      ``[T_i; T'_i]`` (5N rows). They train the student side (``fc``,
      ``joint_fc``, the backbone) and give the self-teacher and
      ``teacher_joint_fc`` no gradient.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Channels c_n of the last backbone stage.
        teacher_in_channels (int): Channels d_n = width * c_n of the last
            refined feature T_n, the input of ``teacher_joint_fc``.
        sla_weight (float): Weight of both SLA distillation terms (the
            authors' ``--aux_lamb``). Defaults to 1.
        joint_loss (dict): Loss of both joint classifiers. Defaults to
            cross-entropy.
        **kwargs: The arguments of :class:`FRSKDClsHead` (``alpha``,
            ``beta``, ``temperature`` (also the SLA terms' temperature, one
            ``--temperature`` in the authors' code), ``feature_loss``,
            ``teacher_loss_weight`` (of ``loss_teacher`` only), ``loss``,
            ``topk``, ``cal_acc``, ``init_cfg``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 teacher_in_channels: int,
                 sla_weight: float = 1.0,
                 joint_loss: dict = dict(
                     type='CrossEntropyLoss', loss_weight=1.0),
                 **kwargs) -> None:
        super().__init__(
            num_classes=num_classes, in_channels=in_channels, **kwargs)
        if sla_weight < 0:
            raise ValueError(
                f'model.head.sla_weight must be >= 0, got {sla_weight}.')
        if getattr(self.distill.feature_loss, 'needs_preact', False):
            raise ValueError(
                'FRSKDSLAClsHead computes the feature term on F_i and T_i '
                'of the plain and the rotated images, but model.head.'
                f'feature_loss ({type(self.distill.feature_loss).__name__}) '
                'reads pre-activation features, which this head does not '
                "pass: use dict(type='AttentionTransferLoss') (the authors' "
                "SLA setting) or dict(type='FitNetLoss', ...).")
        self.sla_weight = sla_weight
        self.teacher_in_channels = teacher_in_channels
        self.joint_fc = nn.Linear(in_channels, NUM_ROTATIONS * num_classes)
        self.teacher_joint_fc = nn.Linear(teacher_in_channels,
                                          NUM_ROTATIONS * num_classes)
        self.joint_loss = MODELS.build(joint_loss)

    def check_neck(self,
                   neck: FRSKDNeck,
                   stage_channels: Optional[Sequence[int]] = None) -> None:
        """:meth:`FRSKDClsHead.check_neck`, and ``teacher_in_channels``
        against the self-teacher's last refined level."""
        super().check_neck(neck, stage_channels)
        refined = neck.out_channels[-1]
        if self.teacher_in_channels != refined:
            raise ValueError(
                f'model.head.teacher_in_channels={self.teacher_in_channels} '
                f'but the last refined feature T_n has {refined} channels '
                f'({neck.width_origin(len(neck.out_channels) - 1)}); '
                "the self-teacher's joint classifier reads it. Set "
                f'model.head.teacher_in_channels={refined}.')

    def loss(self,
             feats: Tuple[Tensor, ...],
             data_samples: List[DataSample],
             rotated_feats: Optional[Tuple[Tensor, ...]] = None,
             **kwargs) -> Dict[str, Tensor]:
        """Compute the FRSKD + SLA loss terms.

        Args:
            feats (SelfTeacherFeatures): ``FRSKDNeck``'s training output for
                the N images: F_1..F_n (level i (N, c_i, H_i, W_i)) with
                ``refined`` T_1..T_n and ``teacher_logits`` (N, C).
            data_samples (list[DataSample]): With ``gt_label`` (hard
                labels: batch augmentation is refused).
            rotated_feats (SelfTeacherFeatures): The same for the 4N
                rotated images, from ``SLAImageClassifier``.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_teacher``,
            ``loss_joint``, ``loss_teacher_joint``, ``loss_sla``,
            ``loss_teacher_sla``, ``loss_kd``, ``loss_att`` (and training
            accuracy with ``cal_acc``).
        """
        for name, value in (('feats', feats), ('rotated_feats',
                                               rotated_feats)):
            if not isinstance(value, SelfTeacherFeatures) or \
                    value.teacher_logits is None:
                raise TypeError(
                    'FRSKDSLAClsHead needs the self-teacher outputs of the '
                    'plain and the rotated images: use '
                    "model.type='SLAImageClassifier' and neck=dict("
                    "type='FRSKDNeck', in_channels=[...], num_classes=...), "
                    f'got {type(value).__name__} as {name}.')
        labels = hard_labels(data_samples, type(self).__name__)
        student = self(feats)
        teacher = feats.teacher_logits
        joint = self.joint_fc(self.pre_logits(rotated_feats))
        teacher_joint = self.teacher_joint_fc(
            F.adaptive_avg_pool2d(rotated_feats.refined[-1], 1).flatten(1))
        aggregated = aggregate_joint_logits(joint)
        teacher_aggregated = aggregate_joint_logits(teacher_joint)
        targets = joint_targets(labels)
        temperature = self.distill.temperature

        # MMPretrain's own loss (and training accuracy with ``cal_acc``).
        own = self._get_loss(student, data_samples, **kwargs)
        losses = dict(
            loss_cls=own.pop('loss'),
            loss_teacher=self.teacher_loss_weight * self.loss_module(
                teacher, labels, avg_factor=teacher.size(0), **kwargs),
            loss_joint=self.joint_loss(
                joint, targets, avg_factor=joint.size(0)),
            loss_teacher_joint=self.joint_loss(
                teacher_joint, targets, avg_factor=teacher_joint.size(0)),
            loss_sla=self.sla_weight *
            kd_kl_div(student, aggregated.detach(), temperature),
            loss_teacher_sla=self.sla_weight *
            kd_kl_div(teacher, teacher_aggregated.detach(), temperature))
        losses.update(
            self.distill(
                torch.cat([student, aggregated]),
                torch.cat([teacher, teacher_aggregated]),
                _concat(feats, rotated_feats),
                _concat(feats.refined, rotated_feats.refined)))
        losses.update(own)
        return losses


def _concat(plain: Sequence[Tensor],
            rotated: Sequence[Tensor]) -> List[Tensor]:
    """Per level, the plain images' maps followed by the rotated ones'."""
    return [torch.cat([p, r]) for p, r in zip(plain, rotated)]
