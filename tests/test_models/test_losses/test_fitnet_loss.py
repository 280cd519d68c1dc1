import pytest
import torch

from frskd_mm.models.losses import FitNetLoss


def test_fitnet_by_hand():
    loss = FitNetLoss(student_channels=[1], teacher_channels=[2]).eval()
    conv = loss.regressors[0].conv
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -2.0]).view(2, 1, 1, 1))
    # Eval-mode BN with fresh statistics divides by sqrt(1 + eps).
    eps = loss.regressors[0].bn.eps
    student = torch.tensor([[[[1.0, 2.0]]]])  # (1, 1, 1, 2)
    teacher = torch.tensor([[[[0.0, 1.0]], [[1.0, 0.0]]]])  # (1, 2, 1, 2)
    scale = 1 / (1 + eps)**0.5
    regressed = [[max(1.0 * x * scale, 0) for x in (1.0, 2.0)],
                 [max(-2.0 * x * scale, 0) for x in (1.0, 2.0)]]
    target = [[0.0, 1.0], [1.0, 0.0]]
    expected = sum((regressed[c][j] - target[c][j])**2 for c in range(2)
                   for j in range(2)) / 4
    assert loss([student], [teacher]).item() == pytest.approx(
        expected, rel=1e-6)


def test_fitnet_trains_its_regressor_and_checks_levels():
    loss = FitNetLoss([2, 3], [4, 6])
    s = [torch.randn(2, 2, 4, 4), torch.randn(2, 3, 2, 2)]
    t = [torch.randn(2, 4, 4, 4), torch.randn(2, 6, 2, 2)]
    loss(s, t).backward()
    assert all(p.grad is not None for p in loss.parameters())
    with pytest.raises(ValueError, match='2 levels'):
        loss(s[:1], t[:1])
    with pytest.raises(ValueError, match='one teacher width'):
        FitNetLoss([2, 3], [4])
