"""SLA's rotation order, joint labels and aggregation indices, against
hand-written values (the order of the FRSKD authors' sla.py: row b * 4 + k,
label class * 4 + k)."""
import pytest
import torch
from mmpretrain.structures import DataSample

from frskd_mm.models.utils.sla import (aggregate_joint_logits, hard_labels,
                                       joint_targets, rotate_batch)


def test_rotations_are_stacked_per_sample_counter_clockwise():
    # Two 1-channel 2x2 images: [[1, 2], [3, 4]] and ten times it.
    image = torch.tensor([[1., 2.], [3., 4.]])
    batch = torch.stack([image, 10 * image])[:, None]
    rotated = rotate_batch(batch)
    assert rotated.shape == (8, 1, 2, 2)
    # k = 0..3 quarter turns from the height axis towards the width axis
    # (counter-clockwise as displayed), written out by hand.
    turns = [
        [[1., 2.], [3., 4.]],
        [[2., 4.], [1., 3.]],
        [[4., 3.], [2., 1.]],
        [[3., 1.], [4., 2.]],
    ]
    for b, scale in enumerate((1., 10.)):
        for k, turn in enumerate(turns):
            torch.testing.assert_close(rotated[b * 4 + k, 0],
                                       scale * torch.tensor(turn))


def test_rotation_keeps_channels_together():
    batch = torch.arange(2 * 3 * 3 * 3, dtype=torch.float).reshape(2, 3, 3, 3)
    rotated = rotate_batch(batch)
    # A quarter turn of the 3x3 grid sends (row 0, col 2) to (row 0, col 0).
    for c in range(3):
        assert rotated[1, c, 0, 0] == batch[0, c, 0, 2]
        assert rotated[5, c, 0, 0] == batch[1, c, 0, 2]


def test_non_square_images_are_refused_with_the_pipeline_key():
    with pytest.raises(ValueError, match=r'4x6.*train_dataloader'):
        rotate_batch(torch.zeros(1, 3, 4, 6))


def test_joint_targets():
    labels = torch.tensor([2, 0, 5])
    assert joint_targets(labels).tolist() == [
        8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23
    ]


def test_aggregation_takes_each_rotations_own_columns():
    # N = 2 samples, C = 3 classes: joint[r, j] = 100 r + j, so the entry of
    # row b * 4 + k, column c * 4 + k is 400 b + 101 k + 4 c and its mean
    # over k = 0..3 is 400 b + 4 c + 151.5.
    rows, cols = torch.meshgrid(
        torch.arange(8.), torch.arange(12.), indexing='ij')
    joint = 100 * rows + cols
    expected = torch.tensor([[151.5, 155.5, 159.5], [551.5, 555.5, 559.5]])
    torch.testing.assert_close(aggregate_joint_logits(joint), expected)


def test_aggregation_refuses_shapes_that_are_not_four_fold():
    with pytest.raises(ValueError, match='4N rows and 4C columns'):
        aggregate_joint_logits(torch.zeros(6, 12))


def test_soft_targets_are_refused_naming_the_batch_augments():
    samples = [DataSample().set_gt_score(torch.tensor([0.5, 0.5]))]
    with pytest.raises(ValueError, match=r'model\.train_cfg\.augments'):
        hard_labels(samples, 'SLAClsHead')
    labels = hard_labels([DataSample().set_gt_label(3)], 'SLAClsHead')
    assert labels.tolist() == [3]
