"""MMPretrain classifier for self-supervised label augmentation (Lee et al.,
ICML 2020), alone (SLA-SD) or with FRSKD (Ji et al., CVPR 2021)."""
import inspect
from typing import List

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample

from frskd_mm.registry import MODELS
from ..utils.sla import rotate_batch

SLA_HEADS = "'SLAClsHead' (SLA-SD) or 'FRSKDSLAClsHead' (FRSKD + SLA)"


@MODELS.register_module()
class SLAImageClassifier(ImageClassifier):
    """``ImageClassifier`` whose training step also sees the batch's four
    rotations.

    In ``loss`` the preprocessed batch (N images) goes through backbone and
    neck as usual, then its rotations by 0, 90, 180 and 270 degrees (4N
    images, rotation k of sample b in row ``b * 4 + k``; see
    :func:`~frskd_mm.models.utils.sla.rotate_batch`) go through them in a
    second, separate forward pass, as in the FRSKD authors' SLA code
    (MingiJi/FRSKD, ``classification/distill_loss/sla.py``): batch
    normalisation sees the two batches separately. The head receives both
    (``head.loss(feats, data_samples, rotated_feats=...)``): use
    :class:`~frskd_mm.models.heads.SLAClsHead` or
    :class:`~frskd_mm.models.heads.FRSKDSLAClsHead`.

    The ``tensor`` and ``predict`` modes are ``ImageClassifier``'s: no
    rotation, and the head's single classifier only, so the deployed model
    is the plain ``ImageClassifier`` (``tools/export_student.py``).

    Batch augmentation (Mixup, CutMix: ``model.train_cfg.augments`` or
    ``data_preprocessor.batch_augments``) is refused when the model is
    built: the joint (class, rotation) labels need hard labels, and the
    authors never combine SLA with it.

    Args:
        **kwargs: The arguments of ``ImageClassifier`` (``backbone``,
            ``neck``, ``head``, ``pretrained``, ``train_cfg``,
            ``data_preprocessor``, ``init_cfg``).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        augments = getattr(self.data_preprocessor, 'batch_augments', None)
        if augments is not None:
            found = [
                type(a).__name__
                for a in getattr(augments, 'augments', [augments])
                if a is not None
            ]
            raise ValueError(
                'SLAImageClassifier (self-supervised label augmentation) '
                f'cannot train with batch augmentation, but {found} is set '
                '(model.train_cfg.augments or '
                'data_preprocessor.batch_augments): the joint labels '
                '(class * 4 + rotation) need hard labels, and the FRSKD '
                'authors never combine SLA with Mixup/CutMix. Remove '
                'model.train_cfg.augments and '
                'data_preprocessor.batch_augments, or train Mixup/CutMix '
                'without SLA (e.g. configs/frskd/resnet18_cifar100_mixup.py).')
        if self.head is None or 'rotated_feats' not in inspect.signature(
                self.head.loss).parameters:
            raise TypeError(
                'SLAImageClassifier passes the rotated images\' features to '
                'head.loss(feats, data_samples, rotated_feats=...), which '
                f'{type(self.head).__name__} does not take: set model.head '
                f'type to {SLA_HEADS}.')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        """Losses of the batch and of its four rotations.

        Args:
            inputs (Tensor): The preprocessed batch (N, C, H, W), H == W.
            data_samples (list[DataSample]): With ``gt_label``.

        Returns:
            dict[str, Tensor]: The head's loss terms.
        """
        feats = self.extract_feat(inputs)
        rotated_feats = self.extract_feat(rotate_batch(inputs))
        return self.head.loss(feats, data_samples, rotated_feats=rotated_feats)
