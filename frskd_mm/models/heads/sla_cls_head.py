"""MMPretrain head for SLA-SD (Lee et al., ICML 2020), without FRSKD."""
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.structures import DataSample
from torch import Tensor

from frskd_mm.registry import MODELS
from ..losses.kd_loss import kd_kl_div
from ..utils.sla import (NUM_ROTATIONS, aggregate_joint_logits, hard_labels,
                         joint_targets)


@MODELS.register_module()
class SLAClsHead(LinearClsHead):
    """Linear classifier trained with self-supervised label augmentation
    and its self-distillation (SLA-SD).

    Lee, Hwang and Shin, "Self-supervised Label Augmentation via Input
    Transformations", ICML 2020, in the form of the FRSKD authors' SLA code
    (MingiJi/FRSKD, ``classification/distill_loss/sla.py``) without the
    self-teacher: the SLA-SD comparison of FRSKD (Ji et al., CVPR 2021).
    Used with :class:`~frskd_mm.models.classifiers.SLAImageClassifier`,
    which passes the features of the batch's four rotations.

    Besides the single classifier ``fc`` (MMPretrain's ``LinearClsHead``,
    used for prediction and deployed alone), a joint classifier
    ``joint_fc`` maps the pooled features of the rotated images to the
    4 * C labels (class, rotation). ``loss`` returns:

    - ``loss_cls``: ``loss`` on the single logits of the plain images;
    - ``loss_joint``: ``joint_loss`` on the joint logits (4N, 4C) of the
      rotated images, labels ``class * 4 + k``;
    - ``loss_sla``: ``sla_weight * T^2 * KL(p_agg || p_single)`` at
      temperature ``T``, where the aggregated logits are the mean over the
      rotations of the joint logits of the true rotation (a target without
      gradient, as the authors' ``DistillKL`` detaches it).

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Channels of the pooled feature.
        sla_weight (float): Weight of ``loss_sla`` (the authors'
            ``--aux_lamb``). Defaults to 1.
        temperature (float): Temperature of ``loss_sla`` (the authors'
            ``--temperature``). Defaults to 4.
        joint_loss (dict): Loss of the joint classifier. Defaults to
            cross-entropy.
        init_cfg (dict, optional): Initialisation of both classifiers.
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of ``LinearClsHead``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 sla_weight: float = 1.0,
                 temperature: float = 4.0,
                 joint_loss: dict = dict(
                     type='CrossEntropyLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs) -> None:
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            init_cfg=init_cfg,
            **kwargs)
        if sla_weight < 0 or temperature <= 0:
            raise ValueError('model.head.sla_weight must be >= 0 and '
                             'model.head.temperature > 0, got '
                             f'{sla_weight}, {temperature}.')
        self.sla_weight = sla_weight
        self.temperature = temperature
        self.joint_fc = nn.Linear(in_channels, NUM_ROTATIONS * num_classes)
        self.joint_loss = MODELS.build(joint_loss)

    def loss(self,
             feats: Tuple[Tensor, ...],
             data_samples: List[DataSample],
             rotated_feats: Optional[Tuple[Tensor, ...]] = None,
             **kwargs) -> Dict[str, Tensor]:
        """Compute ``loss_cls``, ``loss_joint`` and ``loss_sla``.

        Args:
            feats (tuple[Tensor]): The neck's output for the N images;
                the last entry (N, in_channels) is classified.
            data_samples (list[DataSample]): With ``gt_label`` (hard
                labels: batch augmentation is refused).
            rotated_feats (tuple[Tensor]): The same for the 4N rotated
                images (rows ``b * 4 + k``), from ``SLAImageClassifier``.

        Returns:
            dict[str, Tensor]: The three terms (and training accuracy of the
            single classifier with ``cal_acc``).
        """
        if rotated_feats is None:
            raise TypeError(
                'SLAClsHead needs the features of the rotated images: use '
                "model.type='SLAImageClassifier' with this head.")
        labels = hard_labels(data_samples, type(self).__name__)
        logits = self(feats)
        joint = self.joint_fc(self.pre_logits(rotated_feats))
        # MMPretrain's own loss (and training accuracy with ``cal_acc``).
        student = self._get_loss(logits, data_samples, **kwargs)
        losses = dict(
            loss_cls=student.pop('loss'),
            loss_joint=self.joint_loss(
                joint, joint_targets(labels), avg_factor=joint.size(0)),
            loss_sla=self.sla_weight * kd_kl_div(
                logits,
                aggregate_joint_logits(joint).detach(), self.temperature))
        losses.update(student)
        return losses
