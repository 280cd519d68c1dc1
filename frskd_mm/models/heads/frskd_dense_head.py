"""MMDetection dense head for FRSKD (Ji et al., CVPR 2021): the detector's
head as the student, a copy of it on the refined FPN levels as the teacher.
The design is in docs/detection.md."""
from typing import Dict, List, Optional, Sequence, Tuple

from mmdet.models.utils import unpack_gt_instances
from mmdet.structures import SampleList
from mmdet.utils import InstanceList, OptConfigType
from mmengine.model import BaseModule
from torch import Tensor

from frskd_mm.registry import MODELS
from ..losses.sigmoid_self_distill_loss import SigmoidSelfDistillLoss
from ..necks.frskd_neck import FRSKDNeck, SelfTeacherFeatures
from ..utils.teacher_rng import init_student_then_teacher, teacher_rng
from .frskd_dense_head_args import (build_dense_head, check_loss_names,
                                    per_prior_scores, student_config,
                                    teacher_config, teacher_terms,
                                    valid_priors)


@MODELS.register_module()
class FRSKDDenseHead(BaseModule):
    """Any sigmoid dense head of MMDetection as the student, plus FRSKD.

    The student is the head built from the nested ``student`` config
    (RetinaHead, FCOSHead, ATSSHead; RPNHead as a two-stage detector's
    ``rpn_head``) with the detector's ``train_cfg``/``test_cfg``, reading
    the FPN levels P_i as usual. :meth:`forward` and :meth:`predict` run it
    alone, so in eval mode (the FRSKD neck passes the FPN's outputs through)
    the model computes and costs exactly what the plain detector does, and
    ``bbox_head.student.*`` are the plain detector's ``bbox_head.*``.

    In training the neck (:class:`~frskd_mm.models.necks.FRSKDNeck` around
    the FPN) attaches the refined levels T_i, and the head returns:

    - the student's own losses (its ``loss_by_feat``: ``loss_cls``,
      ``loss_bbox``, ...);
    - ``loss_teacher_*``: the same losses of the teacher, a copy of the
      student head (own weights; ``teacher`` changes keys of its config)
      run on T_i, times ``teacher_loss_weight``; they train the teacher,
      the self-teacher layers and, through them, the FPN and backbone;
    - ``loss_kd``: ``alpha`` times the per-prior binary KL divergence of
      the sigmoid class scores at temperature T, weighted by the teacher's
      score over the valid priors
      (:class:`~frskd_mm.models.losses.SigmoidSelfDistillLoss`);
    - ``loss_att``: ``beta`` times the attention transfer between every P_i
      and T_i.

    The last two come from ``self.distill``, whose stop-gradient and weight
    schedule :class:`~frskd_mm.engine.hooks.FRSKDHook` owns: they give the
    teacher and the self-teacher exactly zero gradient.

    Args:
        student (dict): Config of the detector's dense head (built in the
            ``mmdet`` scope unless it sets ``_scope_``).
        teacher (dict, optional): Keys of the head config that differ for
            the teacher: ``in_channels`` (the refined width, when the
            self-teacher's ``width`` is not 1), a lighter ``stacked_convs``
            or ``feat_channels``. ``num_classes`` must stay the student's.
        alpha (float): Weight of ``loss_kd``. Defaults to 1.
        beta (float): Weight of ``loss_att``. Defaults to 50 (the authors'
            dense-prediction setting).
        temperature (float): Temperature T of ``loss_kd``. Defaults to 1.
        feature_loss (dict): The feature term. Defaults to
            ``dict(type='AttentionTransferLoss')``.
        teacher_loss_weight (float): Weight of ``loss_teacher_*``.
            Defaults to 1.
        score_weighted (bool): Weight the priors of ``loss_kd`` by the
            teacher's highest class score (else a plain mean over the valid
            priors). Defaults to True.
        train_cfg, test_cfg (dict, optional): Set by the detector; passed
            to both heads.
        num_classes (int, optional): Set by a two-stage detector for its
            RPN (1); passed to both heads.
        init_cfg (dict, optional): Initialisation config; the heads keep
            their own.
    """

    def __init__(self,
                 student: dict,
                 teacher: Optional[dict] = None,
                 alpha: float = 1.0,
                 beta: float = 50.0,
                 temperature: float = 1.0,
                 feature_loss: dict = dict(type='AttentionTransferLoss'),
                 teacher_loss_weight: float = 1.0,
                 score_weighted: bool = True,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 num_classes: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # Only a two-stage detector passes num_classes (to its RPN head).
        self.config_key = 'model.bbox_head' if num_classes is None \
            else 'model.rpn_head'
        student = student_config(student, train_cfg, test_cfg, num_classes)
        self.student = build_dense_head(student, 'student')
        with teacher_rng():  # the parts built after it start as the baseline
            self.teacher = build_dense_head(
                teacher_config(student, teacher), 'teacher')
        if teacher_loss_weight < 0:
            raise ValueError('teacher_loss_weight must be >= 0, got '
                             f'{teacher_loss_weight}.')
        self.teacher_loss_weight = teacher_loss_weight
        self.distill = SigmoidSelfDistillLoss(alpha, beta, temperature,
                                              feature_loss, score_weighted)

    def init_weights(self) -> None:
        """The student from the global random stream, the teacher head
        from the self-teacher's own (:mod:`~frskd_mm.models.utils.
        teacher_rng`)."""
        init_student_then_teacher(self, [self.student])

    # The attributes MMDetection's detectors and tools read from the head.
    @property
    def num_classes(self) -> int:
        """The student's ``num_classes``."""
        return self.student.num_classes

    @property
    def cls_out_channels(self) -> int:
        """The student's class channels per prior."""
        return self.student.cls_out_channels

    @property
    def prior_generator(self):
        """The student's anchors or points."""
        return self.student.prior_generator

    @property
    def test_cfg(self):
        """The student's ``test_cfg``."""
        return self.student.test_cfg

    def check_neck(self,
                   neck: FRSKDNeck,
                   stage_channels: Optional[Sequence[int]] = None) -> None:
        """Raise, naming the config keys, if this head does not fit the
        self-teacher (``FRSKDHook`` calls it before the first iteration).

        Args:
            neck (FRSKDNeck): The model's self-teacher.
            stage_channels (Sequence[int], optional): The channels of the
                levels it refines (the FPN's outputs), if known; else the
                neck's ``in_channels`` stand for them.
        """
        key = self.config_key
        if getattr(self.distill.feature_loss, 'needs_preact', False):
            raise ValueError(
                f'{key}.feature_loss reads pre-activation features, which an '
                "FPN does not have; use dict(type='AttentionTransferLoss').")
        if neck.num_classes is not None:
            raise ValueError(
                f'model.neck.num_classes={neck.num_classes} builds an image '
                'classifier, but this self-teacher predicts with its '
                f'copy of the dense head ({key}.teacher). Remove '
                'model.neck.num_classes.')
        widths, levels = neck.out_channels, self.prior_generator.num_levels
        if len(widths) != levels:
            raise ValueError(
                f'model.neck.in_channels lists {len(widths)} FPN levels but '
                f'{key}.student has {levels} prior levels (strides '
                f'{list(self.prior_generator.strides)}); list one channel '
                'count per FPN output (num_outs) in model.neck.in_channels.')
        stages = list(stage_channels or neck.in_channels)
        wrong = [c for c in stages if c != self.student.in_channels]
        if wrong:
            raise ValueError(
                f'The FPN outputs {stages} channels but {key}.student.'
                f'in_channels={self.student.in_channels}; make '
                'model.neck.neck.out_channels, model.neck.in_channels and '
                f'{key}.student.in_channels agree.')
        width = self.teacher.in_channels
        if any(w != width for w in widths):
            raise ValueError(
                f'The self-teacher refines the FPN levels into {widths} '
                f'channels ({neck.width_origin(0)}) but {key}.teacher.'
                f'in_channels={width} (default: the student\'s); set '
                f'{key}.teacher=dict(in_channels={widths[0]}) or '
                'model.neck.width=1.')
        self.distill.check_feature_channels(stages, widths,
                                            f'{key}.feature_loss')

    def forward(self, x: Tuple[Tensor, ...]) -> tuple:
        """The student's outputs (``cls_scores``, ``bbox_preds``, ...)."""
        return self.student(x)

    def predict(self,
                x: Tuple[Tensor, ...],
                batch_data_samples: SampleList,
                rescale: bool = False) -> InstanceList:
        """The student's detections; the teacher does not run."""
        return self.student.predict(x, batch_data_samples, rescale=rescale)

    def predict_by_feat(self, *args, **kwargs) -> InstanceList:
        """The student's ``predict_by_feat``."""
        return self.student.predict_by_feat(*args, **kwargs)

    def loss(self, x: Tuple[Tensor, ...],
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """The student's losses plus ``loss_teacher_*``, ``loss_kd`` and
        ``loss_att``.

        Args:
            x (SelfTeacherFeatures): The training-mode output of
                ``FRSKDNeck``: the FPN levels with ``refined``.
            batch_data_samples (list[DetDataSample]): With
                ``gt_instances``.
        """
        return self._losses(x, batch_data_samples)[0]

    def loss_and_predict(
        self,
        x: Tuple[Tensor, ...],
        batch_data_samples: SampleList,
        proposal_cfg: OptConfigType = None
    ) -> Tuple[Dict[str, Tensor], InstanceList]:
        """:meth:`loss` and the student's predictions (the proposals of a
        two-stage detector's RPN)."""
        losses, outs, metas = self._losses(x, batch_data_samples)
        predictions = self.student.predict_by_feat(
            *outs, batch_img_metas=metas, cfg=proposal_cfg)
        return losses, predictions

    def _losses(self, x, batch_data_samples: SampleList):
        refined = _refined(x)
        gts, gts_ignore, metas = unpack_gt_instances(batch_data_samples)
        outs = self.student(x)
        losses = self.student.loss_by_feat(*outs, gts, metas, gts_ignore)
        check_loss_names(losses)
        teacher_outs = self.teacher(refined)
        losses.update(
            teacher_terms(
                self.teacher.loss_by_feat(*teacher_outs, gts, metas,
                                          gts_ignore),
                self.teacher_loss_weight))
        losses.update(
            self.distill_by_feat(outs[0], teacher_outs[0], tuple(x), refined,
                                 metas))
        return losses, outs, metas

    def distill_by_feat(self, student_scores: List[Tensor],
                        teacher_scores: List[Tensor],
                        student_feats: Sequence[Tensor],
                        refined_feats: Sequence[Tensor],
                        batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """``loss_kd`` and ``loss_att`` from the heads' outputs.

        Args:
            student_scores (list[Tensor]): Class logits per level, each
                (N, A * C, H_i, W_i).
            teacher_scores (list[Tensor]): The teacher's, same shapes.
            student_feats (Sequence[Tensor]): The FPN levels P_i.
            refined_feats (Sequence[Tensor]): The refined levels T_i.
            batch_img_metas (list[dict]): With ``pad_shape``.

        Returns:
            dict[str, Tensor]: ``loss_kd`` and ``loss_att``.
        """
        channels = self.cls_out_channels
        sizes = [s.shape[-2:] for s in student_scores]
        valid = valid_priors(self.prior_generator, sizes, batch_img_metas,
                             student_scores[0].device)
        return self.distill(
            per_prior_scores(student_scores, channels).reshape(-1, channels),
            per_prior_scores(teacher_scores, channels).reshape(-1, channels),
            student_feats,
            refined_feats,
            valid_mask=valid.reshape(-1))


def _refined(x) -> Tuple[Tensor, ...]:
    """The refined levels attached by FRSKDNeck, with a clear error."""
    if not isinstance(x, SelfTeacherFeatures):
        raise TypeError(
            'FRSKDDenseHead needs the self-teacher outputs during training: '
            "use neck=dict(type='FRSKDNeck', neck=<the detector's FPN>, "
            'in_channels=[<FPN out_channels>] * <num_outs>, width=1, ...); '
            'FRSKDNeck attaches them in train mode only. Got '
            f'{type(x).__name__} from the neck.')
    return x.refined
