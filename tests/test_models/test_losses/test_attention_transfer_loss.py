import math

import pytest
import torch

from frskd_mm.models.losses import (AttentionTransferLoss, attention_transfer,
                                    spatial_attention)

# Student (N=1, C=2, 2x2) and a teacher with more channels (C=3), as F_i has
# c_i channels and T_i has w * c_i.
S = [[[1.0, 2.0], [0.0, 1.0]], [[3.0, 0.0], [1.0, 1.0]]]
T = [[[1.0, 0.0], [0.0, 2.0]], [[0.0, 1.0], [2.0, 0.0]],
     [[1.0, 1.0], [1.0, 1.0]]]


def _att(feat):
    """Channel mean of squares, flattened row-major, L2-normalised."""
    c = len(feat)
    vals = [
        sum(feat[k][i][j]**2 for k in range(c)) / c for i in range(2)
        for j in range(2)
    ]
    norm = math.sqrt(sum(v * v for v in vals))
    return [v / norm for v in vals]


def test_spatial_attention_by_hand():
    got = spatial_attention(torch.tensor([S]))
    assert got.shape == (1, 4)
    assert got[0].tolist() == pytest.approx(_att(S), rel=1e-6)


def test_attention_transfer_by_hand():
    expected = sum((a - b)**2 for a, b in zip(_att(S), _att(T))) / 4
    got = attention_transfer(torch.tensor([S]), torch.tensor([T]))
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_loss_sums_over_levels():
    s, t = torch.tensor([S]), torch.tensor([T])
    small_s, small_t = s[..., :1, :1] + 1, t[..., :1, :1]
    expected = attention_transfer(s, t) + attention_transfer(small_s, small_t)
    got = AttentionTransferLoss()([s, small_s], [t, small_t])
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_errors_on_level_or_size_mismatch():
    s, t = torch.tensor([S]), torch.tensor([T])
    with pytest.raises(ValueError, match='levels'):
        AttentionTransferLoss()([s, s], [t])
    with pytest.raises(ValueError, match='spatial size'):
        attention_transfer(s, t[..., :1, :])
