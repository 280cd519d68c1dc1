"""The fused weighted sum of the self-teacher's fusion nodes
(frskd_mm/models/necks/fusion.py) on every device and under autocast:
values, dtypes and gradients against the plain expression in float64."""
import pytest
import torch

from frskd_mm.models.necks.fusion import weighted_sum

#: Unit roundoff u of each dtype (half the machine epsilon).
U = {torch.float32: 2.0**-24, torch.bfloat16: 2.0**-8, torch.float16: 2.0**-11}


def _maps(device, dtypes, channels_last=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    maps = []
    for dtype in dtypes:
        x = torch.randn(2, 3, 5, 4, generator=g).relu().to(device, dtype)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        maps.append(x.requires_grad_())
    return maps


def _weights(device, k):
    w = torch.tensor([0.7, 0.2, 1.3][:k], device=device)
    return w.requires_grad_()


@pytest.mark.parametrize('channels_last', [False, True])
def test_equals_the_plain_expression(device, channels_last):
    """float32 and float64: the values and every gradient of
    ``sum_k w_k x_k`` (weights' gradients as fp32 dot products)."""
    for dtype in (torch.float32, torch.float64):
        inputs = [
            x.detach().to(dtype).requires_grad_()
            for x in _maps(device, [torch.float32] * 3, channels_last)
        ]
        w = _weights(device, 3).detach().to(dtype).requires_grad_()
        grad = torch.randn(2, 3, 5, 4, dtype=dtype, device=device)
        out = weighted_sum(inputs, w)
        got = torch.autograd.grad(out, [w] + inputs, grad)
        plain = sum(w[k] * x for k, x in enumerate(inputs))
        ref = torch.autograd.grad(plain, [w] + inputs, grad)
        assert out.dtype == dtype
        # Other summation orders only: a few ulps of the values' scale.
        tol = dict(rtol=8 * U.get(dtype, 2.0**-53), atol=1e-6)
        torch.testing.assert_close(out, plain, **tol)
        for a, b in zip(ref, got):
            torch.testing.assert_close(b, a, **tol)


@pytest.mark.parametrize('mix', ['low', 'fp32_first', 'low_first'])
def test_under_autocast_dtypes_values_and_gradients(device, amp_dtype,
                                                    autocast, mix):
    """Inside ``torch.autocast``: half-precision maps (conv outputs) and,
    mixed in, float32 ones (maps that bypassed every autocast op), with
    float32 fusion weights as the nodes compute them.

    The output has the plain expression's dtype (the promoted one); each
    input's gradient has that input's dtype; the weights' gradients are
    float32 dot products of the (rounded) incoming gradient and the maps.
    Tolerances against float64 on the same rounded values: the output and
    the input gradients are one product-sum rounded once to their dtype
    (<= 2 u of the values' scale, 3 terms: 4 u); the weights' gradients
    accumulate 120 products in float32 (<= 120 * 2^-24 relative to
    sum |g x|, well below 1e-5)."""
    dtypes = dict(
        low=[amp_dtype] * 3,
        fp32_first=[torch.float32, amp_dtype, amp_dtype],
        low_first=[amp_dtype, torch.float32, amp_dtype])[mix]
    inputs = _maps(device, dtypes)
    w = _weights(device, 3)
    with autocast():
        out = weighted_sum(inputs, w)
        plain = sum(w[k] * x for k, x in enumerate(inputs))
    assert out.dtype == plain.dtype
    assert out.dtype == (amp_dtype if mix == 'low' else torch.float32)
    g = torch.Generator().manual_seed(1)
    grad = torch.randn(out.shape, generator=g).to(device, out.dtype)
    got = torch.autograd.grad(out, [w] + inputs, grad)
    assert [t.dtype for t in got] == [torch.float32] + dtypes

    u = U[out.dtype]
    w64 = w.detach().double()
    x64 = [x.detach().double() for x in inputs]
    ref = sum(w64[k] * x for k, x in enumerate(x64))
    torch.testing.assert_close(
        out.double(), ref, rtol=4 * u, atol=4 * u * ref.abs().max().item())
    g64 = grad.double()
    for k, x in enumerate(x64):
        dot = (g64 * x).sum().item()
        scale = (g64 * x).abs().sum().item()
        assert abs(got[0][k].item() - dot) <= 1e-5 * scale, k
        expected = g64 * w64[k]
        uk = U[dtypes[k]]
        torch.testing.assert_close(
            got[k + 1].double(),
            expected,
            rtol=2 * uk,
            atol=2 * uk * expected.abs().max().item())


def test_backward_inside_autocast_equals_backward_outside(amp_dtype):
    """On the CPU the backward runs on the calling thread, so inside an
    autocast block when called there: it computes the same gradients."""
    device = torch.device('cpu')
    grads = []
    for inside in (False, True):
        inputs = _maps(device, [amp_dtype, torch.float32, amp_dtype])
        w = _weights(device, 3)
        with torch.autocast('cpu', dtype=amp_dtype):
            out = weighted_sum(inputs, w)
            if inside:
                grads.append(torch.autograd.grad(out.sum(), [w] + inputs))
        if not inside:
            grads.append(torch.autograd.grad(out.sum(), [w] + inputs))
    for a, b in zip(*grads):
        assert torch.equal(a, b)
        assert a.abs().sum() > 0
