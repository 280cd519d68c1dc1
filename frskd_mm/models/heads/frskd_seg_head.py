"""MMSegmentation decode head for FRSKD (Ji et al., CVPR 2021)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmseg.models.losses import CrossEntropyLoss
from mmseg.models.utils import resize
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from frskd_mm.registry import MODELS
from ..losses.self_distill_loss import SelfDistillLoss
from ..necks.frskd_neck import FRSKDNeck, SelfTeacherFeatures
from ..utils.teacher_rng import init_student_then_teacher, teacher_rng
from .frskd_seg_head_args import (KD_PIXELS, build_student, check_loss_names,
                                  parse_teacher)
from .self_teacher_decoder import SelfTeacherDecoder


@MODELS.register_module()
class FRSKDSegHead(BaseModule):
    """Any MMSeg decode head as the student, plus FRSKD's self-teacher terms.

    The student's decoder is an ordinary MMSegmentation decode head built
    from the nested ``student`` config (FCNHead, ASPPHead,
    DepthwiseSeparableASPPHead, UPerHead, SegBiFPNHead, ...); it reads the
    neck's outputs (the backbone's stages, or those of the FRSKD neck's
    inner neck) as usual. :meth:`predict` and :meth:`forward` run the
    student alone, so with the neck in eval mode (which returns those
    features untouched) inference costs exactly what the plain student
    costs, and the student's weights (``decode_head.student.*``) are those of
    a plain ``EncoderDecoder`` whose ``decode_head`` is the student config.

    In training the head reads the self-teacher's refined features attached
    by :class:`~frskd_mm.models.necks.FRSKDNeck` (``num_classes=None``), runs
    a light teacher decoder (:class:`SelfTeacherDecoder`) on the refined level
    ``teacher['in_index']`` and returns:

    - the student's own losses from its ``loss_by_feat`` (``loss_ce`` or the
      configured ``loss_name`` s, ``acc_seg``; its ``ignore_index``, sampler
      and multiple losses apply as in MMSeg);
    - ``loss_teacher``: ``teacher_loss_weight`` times the teacher's per-pixel
      cross-entropy (MMSeg's ``CrossEntropyLoss`` with
      ``avg_non_ignore=True``, ``teacher_loss``), its logits resized
      (bilinear, the student's ``align_corners``) to the label size and
      averaged over the valid pixels (label != ``ignore_index``; 0 when
      there are none); it trains the teacher decoder, the self-teacher and
      the backbone;
    - ``loss_kd``: ``alpha * T^2 * KL(p_teacher || p_student)`` per pixel at
      label resolution, averaged over the valid pixels, or (``kd_pixels=
      'all'``, the authors') over every pixel, ignored ones included;
    - ``loss_att``: ``beta * feature_loss(F_1..F_n, T_1..T_n)`` between the
      student's features F_i (backbone stages or inner-neck levels) and the
      refined features.

    The last two come from :class:`SelfDistillLoss` (``self.distill``):
    :class:`~frskd_mm.engine.hooks.FRSKDHook` switches on its
    ``stop_target_grad``, which makes it detach the targets (teacher logits
    and refined features), and schedules its weights. Ignored pixels
    contribute to no term (but to ``loss_kd`` with ``kd_pixels='all'``).
    With a binary student (``out_channels=1``, sigmoid), the teacher also
    outputs one channel and ``z`` is read as the two-class logits
    ``(0, z)``.

    Args:
        student (dict): Config of the student's MMSeg decode head (built in
            the ``mmseg`` scope unless it sets ``_scope_``).
        teacher (dict): The teacher decoder: ``in_channels`` (the width
            ``d_i = width * c_i`` of the refined level it decodes, or the
            list of all refined widths, which lets ``in_index`` be checked
            at build time), ``in_index`` (the refined level, default 0, the
            finest), ``channels`` (default 256) and ``norm_cfg`` (default
            ``dict(type='BN')``).
        alpha (float): Weight of ``loss_kd``. Defaults to 1.
        beta (float): Weight of ``loss_att``. Defaults to 50 (the authors'
            segmentation setting).
        temperature (float): Temperature T of ``loss_kd``. Defaults to 1.
        feature_loss (dict): The feature term. Defaults to attention
            transfer, ``dict(type='AttentionTransferLoss')``.
        teacher_loss_weight (float): Weight of ``loss_teacher``.
            Defaults to 1.
        kd_pixels (str): The pixels ``loss_kd`` averages over: ``'valid'``
            (label != ``ignore_index``) or ``'all'``. The authors' code
            sums the per-pixel KL over every pixel of the batch and divides
            by N*H*W (``segmentation/utils/distill.py``); the paper
            configs use ``'all'``. Defaults to ``'valid'``.
        init_cfg (dict, optional): Initialisation config. The student keeps
            its own (MMSeg's default for ``conv_seg``).
    """

    def __init__(self,
                 student: Optional[ConfigType] = None,
                 teacher: Optional[ConfigType] = None,
                 alpha: float = 1.0,
                 beta: float = 50.0,
                 temperature: float = 1.0,
                 feature_loss: dict = dict(type='AttentionTransferLoss'),
                 teacher_loss_weight: float = 1.0,
                 kd_pixels: str = 'valid',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.student = build_student(student)
        check_loss_names(self.student)
        in_channels, self.teacher_in_index, teacher_kwargs = parse_teacher(
            teacher)
        with teacher_rng():  # the parts built after it start as the baseline
            self.teacher = SelfTeacherDecoder(
                in_channels,
                out_channels=self.student.out_channels,
                **teacher_kwargs)
        if teacher_loss_weight < 0:
            raise ValueError('teacher_loss_weight must be >= 0, got '
                             f'{teacher_loss_weight}.')
        self.teacher_loss_weight = teacher_loss_weight
        if kd_pixels not in KD_PIXELS:
            raise ValueError(f'FRSKDSegHead.kd_pixels must be one of '
                             f'{KD_PIXELS}, got {kd_pixels!r}.')
        self.kd_pixels = kd_pixels
        self.teacher_loss = CrossEntropyLoss(
            avg_non_ignore=True, loss_weight=teacher_loss_weight)
        self.distill = SelfDistillLoss(alpha, beta, temperature, feature_loss)

    def init_weights(self) -> None:
        """The student from the global random stream, the teacher decoder
        from the self-teacher's own (:mod:`~frskd_mm.models.utils.
        teacher_rng`)."""
        init_student_then_teacher(self, [self.student])

    # The attributes MMSeg's segmentors and TTA read from ``decode_head``.
    @property
    def align_corners(self) -> bool:
        """The student's ``align_corners``."""
        return self.student.align_corners

    @property
    def num_classes(self) -> int:
        """The student's ``num_classes``."""
        return self.student.num_classes

    @property
    def out_channels(self) -> int:
        """The student's ``out_channels`` (num_classes, or 1 if binary)."""
        return self.student.out_channels

    @property
    def ignore_index(self) -> Optional[int]:
        """The student's ``ignore_index``, used by every FRSKD term."""
        return self.student.ignore_index

    @property
    def threshold(self) -> Optional[float]:
        """The student's binary ``threshold``."""
        return self.student.threshold

    def check_neck(self,
                   neck: FRSKDNeck,
                   stage_channels: Optional[Sequence[int]] = None) -> None:
        """Raise, naming the config keys, if this head does not fit the
        self-teacher (``FRSKDHook`` calls it before the first iteration).

        Args:
            neck (FRSKDNeck): The model's self-teacher.
            stage_channels (Sequence[int], optional): The channels of the
                backbone's outputs, if known; else the neck's
                ``in_channels`` stand for them.
        """
        feature_loss = self.distill.feature_loss
        if getattr(feature_loss, 'needs_preact', False):
            raise ValueError(
                f'model.decode_head.feature_loss is '
                f'{type(feature_loss).__name__}, which reads pre-activation '
                'features; FRSKDSegHead passes the activated ones. Use '
                "dict(type='AttentionTransferLoss') (the authors' "
                'segmentation term) or FitNetLoss.')
        if neck.num_classes is not None:
            raise ValueError(
                f'model.neck.num_classes={neck.num_classes} builds an image '
                'classifier, but a segmentation self-teacher classifies '
                'pixels with its decoder (model.decode_head.teacher), into '
                "the student's model.decode_head.student.num_classes="
                f'{self.num_classes} classes. Remove model.neck.num_classes.')
        widths, i = neck.out_channels, self.teacher_in_index
        if not -len(widths) <= i < len(widths):
            raise ValueError(
                f'model.decode_head.teacher.in_index={i} but the self-teacher'
                f' refines {len(widths)} levels (model.neck.in_channels='
                f'{neck.in_channels}); use 0 (the finest, as the authors).')
        if self.teacher.in_channels != widths[i]:
            raise ValueError(
                'model.decode_head.teacher.in_channels='
                f'{self.teacher.in_channels} but refined level {i} '
                '(model.decode_head.teacher.in_index) has '
                f'{widths[i]} channels ({neck.width_origin(i)}); set '
                f'model.decode_head.teacher.in_channels={widths[i]}.')
        stages = list(stage_channels or neck.in_channels)
        self.distill.check_feature_channels(stages, widths,
                                            'model.decode_head.feature_loss')

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tensor:
        """The student's segmentation logits.

        Args:
            inputs (tuple[Tensor]): Backbone features (a plain tuple in eval
                mode, :class:`SelfTeacherFeatures` in training).

        Returns:
            Tensor: (N, out_channels, H', W') at the student's resolution.
        """
        return self.student(inputs)

    def predict(self, inputs: Tuple[Tensor, ...], batch_img_metas: List[dict],
                test_cfg: ConfigType) -> Tensor:
        """The student's prediction (see ``BaseDecodeHead.predict``); the
        teacher decoder does not run."""
        return self.student.predict(inputs, batch_img_metas, test_cfg)

    def predict_by_feat(self, seg_logits: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """The student's ``predict_by_feat``."""
        return self.student.predict_by_feat(seg_logits, batch_img_metas)

    def loss(self,
             inputs: Tuple[Tensor, ...],
             batch_data_samples: SampleList,
             train_cfg: Optional[ConfigType] = None) -> Dict[str, Tensor]:
        """The student's losses and the three FRSKD terms.

        Args:
            inputs (SelfTeacherFeatures): The training-mode output of
                ``FRSKDNeck``: features F_1..F_n with ``refined``.
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg``.
            train_cfg (dict, optional): The segmentor's train config
                (unused, as in MMSeg's decode heads).

        Returns:
            dict[str, Tensor]: The student's loss dict (``loss_ce``,
            ``acc_seg``, ...) plus ``loss_teacher``, ``loss_kd``,
            ``loss_att``.
        """
        refined = self._teacher_input(inputs)
        seg_logits = self.student(inputs)
        losses = self.student.loss_by_feat(seg_logits, batch_data_samples)
        teacher_logits = self.teacher(refined)
        losses.update(
            self.distill_by_feat(seg_logits, teacher_logits, tuple(inputs),
                                 inputs.refined, batch_data_samples))
        return losses

    def distill_by_feat(self, student_logits: Tensor, teacher_logits: Tensor,
                        student_feats: Sequence[Tensor],
                        refined_feats: Sequence[Tensor],
                        batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """``loss_teacher``, ``loss_kd`` and ``loss_att`` from the outputs.

        Args:
            student_logits (Tensor): (N, out_channels, H_s, W_s).
            teacher_logits (Tensor): (N, out_channels, H_t, W_t).
            student_feats (Sequence[Tensor]): F_1..F_n.
            refined_feats (Sequence[Tensor]): T_1..T_n.
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg``
                of shape (1, H, W).

        Returns:
            dict[str, Tensor]: The three scalar terms.
        """
        label = torch.stack([s.gt_sem_seg.data
                             for s in batch_data_samples]).squeeze(1)
        size = label.shape[-2:]
        student_logits = self._class_logits(student_logits, size)
        teacher_logits = self._class_logits(teacher_logits, size)
        if self.ignore_index is None:
            valid = torch.ones_like(label, dtype=torch.bool)
            ignore_index = -100  # no valid class: nothing is ignored
        else:
            valid = label != self.ignore_index
            ignore_index = self.ignore_index
        losses = dict(
            loss_teacher=self.teacher_loss(
                teacher_logits, label.long(), ignore_index=ignore_index))
        losses.update(
            self.distill(
                student_logits,
                teacher_logits,
                student_feats,
                refined_feats,
                valid_mask=valid if self.kd_pixels == 'valid' else None))
        return losses

    def _class_logits(self, logits: Tensor, size: torch.Size) -> Tensor:
        """Resize to the label ``size``; one sigmoid channel -> (0, z)."""
        logits = resize(
            logits,
            size=size,
            mode='bilinear',
            align_corners=self.align_corners)
        if logits.shape[1] == 1:
            logits = torch.cat([torch.zeros_like(logits), logits], dim=1)
        return logits

    def _teacher_input(self, inputs) -> Tensor:
        """The refined level the teacher decodes, with clear errors."""
        if not isinstance(inputs, SelfTeacherFeatures):
            raise TypeError(
                'FRSKDSegHead needs the self-teacher outputs during training: '
                "use neck=dict(type='FRSKDNeck', in_channels=[c_1, ..., c_n])"
                " (no num_classes) with the backbone's out_indices returning "
                'every stage; FRSKDNeck attaches them in train mode only. Got '
                f'{type(inputs).__name__} from the neck.')
        refined = inputs.refined
        n, i = len(refined), self.teacher_in_index
        if not -n <= i < n:
            raise ValueError(
                f'FRSKDSegHead teacher in_index={i} is out of range: '
                f'FRSKDNeck refines {n} levels (widths '
                f'{[int(t.shape[1]) for t in refined]}). Use 0 for the '
                'finest level, as the authors do.')
        x = refined[i]
        if x.dim() != 4 or x.shape[1] != self.teacher.in_channels:
            raise ValueError(
                f'FRSKDSegHead teacher in_channels={self.teacher.in_channels}'
                f' but refined level {i} has shape {tuple(x.shape)}. The '
                "refined widths are FRSKDNeck's width * backbone channels: "
                f'{[int(t.shape[1]) for t in refined]}; set '
                f'teacher=dict(in_channels={int(x.shape[1])}, in_index={i}, '
                '...).')
        return x
