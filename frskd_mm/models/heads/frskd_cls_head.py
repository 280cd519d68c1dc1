"""MMPretrain head for FRSKD (Ji et al., CVPR 2021)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample
from torch import Tensor

from frskd_mm.registry import MODELS
from ..losses.self_distill_loss import SelfDistillLoss
from ..necks.frskd_neck import FRSKDNeck, SelfTeacherFeatures


@MODELS.register_module()
class FRSKDClsHead(ClsHead):
    """Student classifier plus the four FRSKD loss terms.

    The student's logits come from global average pooling and a linear layer
    on the last backbone stage, exactly as MMPretrain's
    ``GlobalAveragePooling`` + ``LinearClsHead``, so prediction (which uses
    the student alone) and the exported student model agree. During
    training the head reads the self-teacher's outputs attached by
    :class:`~frskd_mm.models.necks.FRSKDNeck` and returns:

    - ``loss_cls``: the student's loss, computed by MMPretrain's
      ``ClsHead._get_loss`` with ``loss`` (any MMPretrain loss; Mixup/CutMix
      soft targets and label smoothing work as usual);
    - ``loss_teacher``: ``teacher_loss_weight`` times the same loss module
      on the teacher's logits, which trains the self-teacher and also
      reaches the backbone;
    - ``loss_kd``: ``alpha * T^2 * KL(p_teacher || p_student)``;
    - ``loss_att``: ``beta * feature_loss(F_1..F_n, T_1..T_n)``
      (FRSKD, Eq. 7).

    The last two come from :class:`SelfDistillLoss` (``self.distill``):
    :class:`~frskd_mm.engine.hooks.FRSKDHook` switches on its
    ``stop_target_grad``, which makes it detach the targets (teacher logits
    and refined features), and schedules alpha and beta.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the last backbone stage.
        alpha (float): Weight of ``loss_kd``. Defaults to 1.
        beta (float): Weight of ``loss_att``. Defaults to 100.
        temperature (float): Temperature T of ``loss_kd``. Defaults to 4.
        feature_loss (dict): The feature term. Defaults to attention
            transfer, ``dict(type='AttentionTransferLoss')``.
        teacher_loss_weight (float): Weight of ``loss_teacher``.
            Defaults to 1.
        loss (dict): The classification loss of student and teacher.
            Defaults to ``dict(type='CrossEntropyLoss', loss_weight=1.0)``.
        topk (int | tuple[int]): Top-k accuracy. Defaults to ``(1, )``.
        cal_acc (bool): Log the student's training accuracy (hard labels
            only, as in MMPretrain). Defaults to False.
        init_cfg (dict, optional): Initialisation config of the classifier.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        alpha: float = 1.0,
        beta: float = 100.0,
        temperature: float = 4.0,
        feature_loss: dict = dict(type='AttentionTransferLoss'),
        teacher_loss_weight: float = 1.0,
        loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk: Union[int, Tuple[int]] = (1, ),
        cal_acc: bool = False,
        init_cfg: Optional[dict] = dict(
            type='Normal', layer='Linear', std=0.01)
    ) -> None:
        super().__init__(
            loss=loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be > 0, got {num_classes}.')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.fc = nn.Linear(in_channels, num_classes)
        self.teacher_loss_weight = teacher_loss_weight
        self.distill = SelfDistillLoss(alpha, beta, temperature, feature_loss)

    def check_neck(self,
                   neck: FRSKDNeck,
                   stage_channels: Optional[Sequence[int]] = None) -> None:
        """Raise, naming the config keys, if this head does not fit the
        self-teacher and the backbone (``FRSKDHook`` calls it before the
        first iteration).

        Args:
            neck (FRSKDNeck): The model's self-teacher.
            stage_channels (Sequence[int], optional): The channels of the
                backbone's outputs, if known; else the neck's
                ``in_channels`` stand for them.
        """
        if neck.neck is not None:
            raise ValueError(
                'model.neck.neck is set, but in classification the '
                "self-teacher reads the backbone's stages and FRSKDClsHead "
                'pools the last one itself (the deployed student gets '
                'GlobalAveragePooling). Remove model.neck.neck.')
        if neck.num_classes is None:
            raise ValueError(
                'model.neck.num_classes is not set, but FRSKDClsHead '
                "distils the self-teacher's logits: set "
                f'model.neck.num_classes={self.num_classes} (as '
                'model.head.num_classes).')
        if neck.num_classes != self.num_classes:
            raise ValueError(
                f'model.neck.num_classes={neck.num_classes} but '
                f'model.head.num_classes={self.num_classes}: the '
                'self-teacher and the student classify the same classes. '
                'Set both to the number of classes of the dataset.')
        stages = list(stage_channels or neck.in_channels)
        if self.in_channels != stages[-1]:
            raise ValueError(
                f'model.head.in_channels={self.in_channels} but the last '
                f'backbone stage has {stages[-1]} channels (stages: '
                f'{stages}); the student classifier reads that stage. Set '
                f'model.head.in_channels={stages[-1]}.')
        self.distill.check_feature_channels(stages, neck.out_channels,
                                            'model.head.feature_loss')

    def pre_logits(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Global average pooling of the last stage, (N, in_channels)."""
        return F.adaptive_avg_pool2d(feats[-1], 1).flatten(1)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """The student's logits, (N, num_classes)."""
        return self.fc(self.pre_logits(feats))

    def predict(
        self,
        feats: Tuple[Tensor, ...],
        data_samples: Optional[List[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """The student's predictions; the teacher's too when it ran.

        With ``FRSKDNeck(eval_teacher=True)`` each data sample also gets
        ``teacher_pred_score`` (softmax of the teacher's logits) for
        ``TeacherAccuracy``.
        """
        predictions = super().predict(feats, data_samples)
        teacher_logits = getattr(feats, 'teacher_logits', None)
        if teacher_logits is not None:
            for sample, score in zip(predictions,
                                     F.softmax(teacher_logits, dim=1)):
                sample.set_field(score, 'teacher_pred_score')
        return predictions

    def loss(self, feats: Tuple[Tensor, ...], data_samples: List[DataSample],
             **kwargs) -> Dict[str, Tensor]:
        """Compute the four FRSKD loss terms.

        Args:
            feats (SelfTeacherFeatures): The training-mode output of
                ``FRSKDNeck`` (student features F_1..F_n with ``refined``
                and ``teacher_logits`` attached).
            data_samples (list[DataSample]): With ``gt_label`` or, after
                batch augmentation, ``gt_score``.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_teacher``, ``loss_kd``,
            ``loss_att`` (and training accuracy when ``cal_acc``).
        """
        if not isinstance(feats, SelfTeacherFeatures) or \
                feats.teacher_logits is None:
            raise TypeError(
                'FRSKDClsHead needs the self-teacher outputs during training: '
                "use neck=dict(type='FRSKDNeck', in_channels=[...], "
                'num_classes=...) with the backbone returning every stage, '
                f'got {type(feats).__name__} from the neck.')
        if self.cal_acc and 'gt_score' in data_samples[0]:
            raise ValueError(
                'model.head.cal_acc=True needs hard labels, but the batch has '
                'soft targets (gt_score, from Mixup/CutMix batch '
                'augmentation); set model.head.cal_acc=False.')
        student_logits = self(feats)
        teacher_logits = feats.teacher_logits
        # MMPretrain's own loss: targets from gt_label or gt_score, then
        # ``loss_module``, and the training accuracy with ``cal_acc``.
        student = self._get_loss(student_logits, data_samples, **kwargs)
        losses = dict(
            loss_cls=student.pop('loss'),
            loss_teacher=self.teacher_loss_weight * self.loss_module(
                teacher_logits,
                _targets(data_samples),
                avg_factor=teacher_logits.size(0),
                **kwargs))
        student_feats, refined_feats = tuple(feats), feats.refined
        if getattr(self.distill.feature_loss, 'needs_preact', False):
            # The OD loss reads the features before their ReLU.
            if feats.student_preact is None:
                raise RuntimeError(
                    f'{type(self.distill.feature_loss).__name__} needs '
                    'pre-activation features, which FRSKDHook sets up '
                    "before training: add dict(type='FRSKDHook') to "
                    'custom_hooks.')
            student_feats = feats.student_preact
            refined_feats = feats.refined_preact
        losses.update(
            self.distill(student_logits, teacher_logits, student_feats,
                         refined_feats))
        losses.update(student)  # accuracy_top-k with cal_acc
        return losses


def _targets(data_samples: List[DataSample]) -> Tensor:
    """The batch's targets, unpacked as ``ClsHead._get_loss`` does:
    ``gt_score`` (N, num_classes) after batch augmentation, else
    ``gt_label`` (N, )."""
    if 'gt_score' in data_samples[0]:
        return torch.stack([i.gt_score for i in data_samples])
    return torch.cat([i.gt_label for i in data_samples])
