import math

import pytest
import torch

from frskd_mm.models.losses import FitNetLoss, OverhaulLoss


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


def _authors_regressors(student_channels, teacher_channels, act):
    """The authors' per-level connector (MingiJi/FRSKD, classification/
    distill_loss/FitNet.py with the ReLU, OD.py without), restated in plain
    torch: 1x1 conv without bias, BN, [ReLU]; the conv weight redrawn from
    N(0, 2 / (k * k * out_channels)), the BN at 1 and 0."""
    levels = []
    for c_s, c_t in zip(student_channels, teacher_channels):
        conv = torch.nn.Conv2d(c_s, c_t, 1, bias=False)
        layers = [conv, torch.nn.BatchNorm2d(c_t)
                  ] + ([torch.nn.ReLU()] if act else [])
        n = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels
        conv.weight.data.normal_(0, math.sqrt(2.0 / n))
        levels.append(torch.nn.Sequential(*layers))
    return levels


@pytest.mark.parametrize('loss_type', [FitNetLoss, OverhaulLoss])
def test_connectors_are_initialised_as_the_authors(loss_type):
    """Same seed, same draws: the regressors (FitNet) and connectors (OD)
    equal the authors' modules' initial weights exactly."""
    student, teacher = [16, 32], [32, 64]
    torch.manual_seed(3)
    loss = loss_type(student, teacher)
    torch.manual_seed(3)
    reference = _authors_regressors(student, teacher, loss_type is FitNetLoss)
    ours = loss.regressors if loss_type is FitNetLoss else loss.connectors
    for mine, theirs in zip(ours, reference, strict=True):
        assert torch.equal(mine.conv.weight, theirs[0].weight)
        assert mine.conv.bias is None
        assert torch.equal(mine.bn.weight, theirs[1].weight)
        assert torch.equal(mine.bn.bias, theirs[1].bias)
        assert mine.with_activation == (loss_type is FitNetLoss)
    # The rule itself, on a larger regressor: std sqrt(2 / d_i), normal.
    w = FitNetLoss([64], [512]).regressors[0].conv.weight
    assert w.std().item() == pytest.approx(math.sqrt(2 / 512), rel=0.03)
    assert w.abs().max().item() > 3 * math.sqrt(2 / 512)  # not uniform
