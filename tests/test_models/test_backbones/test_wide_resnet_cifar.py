import pytest
import torch

from frskd_mm.models.backbones import WideResNetCIFAR


def test_wrn16_2_stages_and_parameters():
    model = WideResNetCIFAR(depth=16, widen_factor=2, out_indices=(0, 1, 2))
    outs = model(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 32, 32), (2, 64, 16, 16),
                                              (2, 128, 8, 8)]
    assert all((o >= 0).all() for o in outs)
    # WRN-16-2 has about 0.69M parameters (Zagoruyko & Komodakis, Table 1
    # lists 0.7M).
    n_params = sum(p.numel() for p in model.parameters())
    assert 0.68e6 < n_params < 0.71e6


def test_same_network_whatever_stages_are_returned():
    full = WideResNetCIFAR(out_indices=(0, 1, 2))
    last = WideResNetCIFAR(out_indices=(2, ))
    last.load_state_dict(full.state_dict())
    full.eval(), last.eval()
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(full(x)[-1], last(x)[0])


def test_bad_depth_is_rejected():
    with pytest.raises(ValueError, match='6n \\+ 4'):
        WideResNetCIFAR(depth=15)
