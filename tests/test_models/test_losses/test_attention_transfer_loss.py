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


def test_spatial_attention_by_hand(device):
    got = spatial_attention(torch.tensor([S], device=device))
    assert got.shape == (1, 4)
    assert got[0].tolist() == pytest.approx(_att(S), rel=1e-6)


def test_attention_transfer_by_hand(device):
    expected = sum((a - b)**2 for a, b in zip(_att(S), _att(T))) / 4
    got = attention_transfer(
        torch.tensor([S], device=device), torch.tensor([T], device=device))
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_attention_transfer_under_autocast(device, amp_dtype, autocast):
    """Half-precision features (conv outputs under autocast; S and T are
    exact in both dtypes). CUDA's autocast computes ``pow`` and the norm in
    float32, the CPU's in ``amp_dtype``: each attention value a is then a
    few roundings (square, channel mean, norm, division) from the exact
    one, <= 8 u |a| (u = 2^-8 bf16, 2^-11 fp16), so each difference
    d = a_S - a_T is off by <= 8 u (|a_S| + |a_T|) and the loss, the mean
    of d^2, by <= 16 u sum |d| (|a_S| + |a_T|) / sum d^2 = 27 u relative
    for S and T (measured on the CPU: 0.8 u bf16, 1.5 u fp16)."""
    u = {torch.bfloat16: 2.0**-8, torch.float16: 2.0**-11}[amp_dtype]
    expected = sum((a - b)**2 for a, b in zip(_att(S), _att(T))) / 4
    s = torch.tensor([S], device=device, dtype=amp_dtype).requires_grad_()
    t = torch.tensor([T], device=device, dtype=amp_dtype).requires_grad_()
    with autocast():
        got = attention_transfer(s, t)
    assert torch.isfinite(got)
    assert got.item() == pytest.approx(expected, rel=27 * u)
    grads = torch.autograd.grad(got, [s, t])
    assert all(g.dtype == amp_dtype and g.abs().sum() > 0 for g in grads)


def test_loss_sums_over_levels(device):
    s = torch.tensor([S], device=device)
    t = torch.tensor([T], device=device)
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
