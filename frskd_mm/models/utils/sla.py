"""Self-supervised label augmentation (SLA) by rotation.

Lee, Hwang and Shin, "Self-supervised Label Augmentation via Input
Transformations", ICML 2020: every image is shown in its four rotations
(0, 90, 180, 270 degrees) and a joint classifier learns the 4 * C labels
(class, rotation). The order below is the one of the FRSKD authors' SLA
code (MingiJi/FRSKD, ``classification/distill_loss/sla.py``): rotation k
of sample b is row ``b * 4 + k`` of the rotated batch, the joint label of
class c at rotation k is ``c * 4 + k``.
"""
from typing import List

import torch
from mmpretrain.structures import DataSample
from torch import Tensor

#: Rotations by k * 90 degrees, k = 0..3.
NUM_ROTATIONS = 4


def rotate_batch(inputs: Tensor) -> Tensor:
    """The four rotations of every image, stacked per sample.

    Args:
        inputs (Tensor): Images (N, C, H, W), H == W.

    Returns:
        Tensor: (4N, C, H, W); row ``b * 4 + k`` is ``inputs[b]`` rotated by
        ``k * 90`` degrees (``torch.rot90`` on the spatial dims, from the
        height axis towards the width axis).

    Raises:
        ValueError: If the images are not square (a rotated image would not
            fit the batch).
    """
    if inputs.dim() != 4:
        raise ValueError('SLA rotates a batch of images (N, C, H, W), got a '
                         f'tensor of shape {tuple(inputs.shape)}.')
    h, w = inputs.shape[2:]
    if h != w:
        raise ValueError(
            f'SLA rotates every training image by 90 degrees, which needs '
            f'square images, but the batch is {h}x{w}. Make the training '
            'pipeline crop squares (train_dataloader.dataset.pipeline, e.g. '
            'RandomCrop(crop_size=32) or RandomResizedCrop(scale=224)).')
    rotated = [torch.rot90(inputs, k, dims=(2, 3)) for k in range(4)]
    return torch.stack(rotated, dim=1).flatten(0, 1)


def joint_targets(labels: Tensor) -> Tensor:
    """The joint (class, rotation) labels of the rotated batch.

    Args:
        labels (Tensor): Class labels (N, ).

    Returns:
        Tensor: (4N, ); entry ``b * 4 + k`` is ``labels[b] * 4 + k``.
    """
    rotations = torch.arange(NUM_ROTATIONS, device=labels.device)
    return (labels[:, None] * NUM_ROTATIONS + rotations).flatten()


def aggregate_joint_logits(joint_logits: Tensor) -> Tensor:
    """SLA's aggregated class logits from the joint classifier.

    For each sample, the logit of class c is the mean over the rotations k
    of the joint logit ``(c, k)`` on the image rotated by k (Lee et al.,
    ICML 2020, aggregation on logits; the FRSKD authors' code averages the
    same entries).

    Args:
        joint_logits (Tensor): (4N, 4C), rows and columns ordered as by
            :func:`rotate_batch` and :func:`joint_targets`.

    Returns:
        Tensor: (N, C).
    """
    n4, c4 = joint_logits.shape
    if n4 % NUM_ROTATIONS or c4 % NUM_ROTATIONS:
        raise ValueError('Joint logits must have 4N rows and 4C columns, got '
                         f'shape {tuple(joint_logits.shape)}.')
    per_sample = joint_logits.reshape(n4 // NUM_ROTATIONS, NUM_ROTATIONS,
                                      c4 // NUM_ROTATIONS, NUM_ROTATIONS)
    # [b, k, c, k]: rotation k's row, class c's column of that rotation.
    return per_sample.diagonal(dim1=1, dim2=3).mean(dim=-1)


def hard_labels(data_samples: List[DataSample], head: str) -> Tensor:
    """The batch's class labels (N, ), refusing soft targets.

    Args:
        data_samples (list[DataSample]): With ``gt_label``.
        head (str): The head's type, for the message.

    Raises:
        ValueError: If the samples carry ``gt_score`` (Mixup/CutMix).
    """
    if 'gt_score' in data_samples[0]:
        raise ValueError(
            f'{head} needs hard labels (the joint label is class * 4 + '
            'rotation), but the batch has soft targets (gt_score) from '
            'Mixup/CutMix batch augmentation: remove model.train_cfg.augments '
            '(and data_preprocessor.batch_augments).')
    return torch.cat([s.gt_label for s in data_samples])
