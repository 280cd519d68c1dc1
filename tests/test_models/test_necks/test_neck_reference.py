"""The optimised self-teacher computes exactly the paper's formula.

The reference below is the plain, unoptimised BiFPN forward (ReLU on every
fused input, resize before every 1x1 resampling conv, zero-padded 'same'
max pooling), written against the neck's own parameters. The neck's
outputs, the FRSKD losses and every gradient must match it. Both run in
float64, so that a mismatch can only be a different formula: in float32
the sums in another order (channels-last, fused weighted sums) round
differently by up to ~2e-4 relative on gradients that are sums of many
large terms (the fusion weights), depending on the thread count. On CUDA
(the ``device`` fixture) too, in float64 with the same tolerances.
"""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from frskd_mm.models.necks import FRSKDNeck


def _pool_same(x):
    h, w = x.shape[-2:]
    ph = (math.ceil(h / 2) - 1) * 2 + 3 - h
    pw = (math.ceil(w / 2) - 1) * 2 + 3 - w
    x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
    return F.max_pool2d(x, 3, 2)


def _resize(x, size):
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if x.shape[-2] >= size[0]:
        if (math.ceil(x.shape[-2] / 2), math.ceil(x.shape[-1] / 2)) == \
                tuple(size):
            return _pool_same(x)
        return F.adaptive_max_pool2d(x, size)
    return F.interpolate(x, size=size, mode='nearest')


def _node(node, inputs):
    w = F.relu(node.weight)
    w = w / (w.sum() + node.eps)
    return node.conv(sum(w[k] * F.relu(x) for k, x in enumerate(inputs)))


def _resample(module, x, size):
    x = _resize(F.relu(x), size)
    return x if module.conv is None else module.conv(x)


def _layer(layer, inputs):
    n = len(inputs)
    sizes = [x.shape[-2:] for x in inputs]
    lat = [c(F.relu(x)) for c, x in zip(layer.lateral_convs, inputs)] \
        if layer.with_lateral else list(inputs)
    td = [None] * n
    td[-1] = lat[-1]
    for i in range(n - 2, -1, -1):
        td[i] = _node(
            layer.top_down_nodes[i],
            [lat[i],
             _resample(layer.upsamples[i], td[i + 1], sizes[i])])
    if not layer.bottom_up:
        return [F.relu(x) for x in td]
    lat2 = [c(F.relu(x)) for c, x in zip(layer.bottom_up_laterals, inputs[1:])]
    outs = [td[0]]
    for i in range(1, n):
        down = _resample(layer.downsamples[i - 1], outs[-1], sizes[i])
        fused = ([lat2[i - 1], td[i], down] if i < n -
                 1 else [lat2[i - 1], down])
        outs.append(_node(layer.bottom_up_nodes[i - 1], fused))
    return [F.relu(x) for x in outs]


def _reference(neck, feats):
    out = feats
    for layer in neck.layers:
        out = _layer(layer, out)
    logits = neck.fc(F.adaptive_avg_pool2d(out[-1], 1).flatten(1))
    return out, logits


CASES = {
    'cifar_pyramid': ([16, 32, 64, 128], [32, 16, 8, 4], {}),
    'odd_sizes': ([8, 16, 32], [15, 8, 4], {}),
    'dilated': ([8, 16, 32, 32], [16, 8, 8, 8], {}),
    'stacked_top_down': ([8, 16, 32], [16, 8, 4],
                         dict(num_layers=2, last_layer_top_down_only=True)),
    # The authors' uniform-width BiFPN: one width, no resampling convs.
    'uniform_width':
    ([16, 32, 64, 128], [32, 16, 8, 4],
     dict(
         out_channels=24,
         layer_cfg=dict(type='BiFPNLayer', depth=2, resample_conv=False))),
}


def _setup(case):
    """The neck (training mode, float64, on the CPU), its inputs and the
    probes of the loss, all seeded."""
    channels, sizes, kwargs = CASES[case]
    torch.manual_seed(0)
    neck = FRSKDNeck(channels, num_classes=5, **kwargs).train().double()
    # Non-trivial fusion weights (one clipped to zero by the ReLU).
    for p in neck.parameters():
        if p.dim() == 1 and p.numel() <= 3:
            p.data.uniform_(-0.2, 1.5)
    feats = [
        torch.randn(4, c, s, s, dtype=torch.float64).relu()
        for c, s in zip(channels, sizes)
    ]
    probes = [
        torch.randn(4, d, s, s, dtype=torch.float64)
        for d, s in zip(neck.out_channels, sizes)
    ]
    return neck, feats, probes


def _runner(neck, feats, probes):
    """``run(forward)``: the refined maps, the logits and the gradients of
    ``sum logsumexp(logits) + sum_i <T_i, probe_i>`` with respect to the
    neck's parameters and the inputs."""

    def run(forward):
        inputs = [f.clone().requires_grad_() for f in feats]
        refined, logits = forward(inputs)
        loss = logits.logsumexp(1).sum() + sum(
            (r * p).sum() for r, p in zip(refined, probes))
        grads = torch.autograd.grad(loss, list(neck.parameters()) + inputs)
        return [r.detach() for r in refined], logits.detach(), grads

    return run


def _optimised(neck):

    def forward(inputs):
        out = neck(tuple(inputs))
        return out.refined, out.teacher_logits

    return forward


@pytest.mark.parametrize('case', list(CASES))
def test_outputs_and_gradients_match_the_plain_formula(case, device):
    neck, feats, probes = _setup(case)
    neck = neck.to(device)
    feats = [f.to(device) for f in feats]
    probes = [p.to(device) for p in probes]
    run = _runner(neck, feats, probes)
    ref = run(lambda inputs: _reference(neck, inputs))
    opt = run(_optimised(neck))
    # float64: equal to ~1e-9 of the values' scale (measured <= 4e-10).
    for a, b in zip(ref[0] + [ref[1]], opt[0] + [opt[1]]):
        scale = max(a.abs().max().item(), 1.0)
        torch.testing.assert_close(b, a, rtol=1e-8, atol=1e-9 * scale)
    names = [n for n, _ in neck.named_parameters()
             ] + [f'input{i}' for i in range(len(feats))]
    for name, a, b in zip(names, ref[2], opt[2]):
        # Sums in another order: equal to ~1e-9 of the gradient's scale
        # (the fusion weights feeding BN get gradients that are zero up to
        # rounding).
        scale = max(a.abs().max().item(), 0.1)
        torch.testing.assert_close(
            b, a, rtol=1e-8, atol=1e-9 * scale, msg=name)


#: Unit roundoff u (half the machine epsilon) of the autocast dtypes.
UNIT_ROUNDOFF = {torch.bfloat16: 2.0**-8, torch.float16: 2.0**-11}


def _error(got, ref):
    """The 2-norm of ``got - ref`` over a list of tensors, in float64."""
    return math.sqrt(
        sum((g.double() - r).norm().item()**2 for g, r in zip(got, ref)))


@pytest.mark.parametrize('case', list(CASES))
def test_under_autocast_as_accurate_as_the_plain_formula(
        case, device, amp_dtype, autocast):
    """Under ``torch.autocast`` (bfloat16, float16; CPU and CUDA) the
    optimised neck (fused weighted sums, 1x1 conv before the upsampling,
    'same' pooling without a padded copy) runs, keeps float32 gradients for
    float32 parameters, and is as accurate as the plain formula run under
    the same autocast, both measured against the float64 formula on the
    same (float32-rounded) weights and inputs.

    Tolerances, with u the unit roundoff (2^-8 bf16, 2^-11 fp16):

    * values (T_i, logits), each: ||got - ref|| <= 32 u ||ref||. Each
      output is a chain of 2-5 conv/BN layers, each rounding its output
      to u and BN dividing by a batch std; measured <= 19 u (CPU, torch
      2.14), so 32 u leaves room for other kernels' summation orders.
    * gradients: the float64 error of the optimised neck's gradients (all
      parameters and inputs together, 2-norm) <= 1.25 x that of the
      plain formula under the same autocast (+ u of the largest gradient).
      Against float64 alone these gradients are not a sharp test: they are
      sums of many terms of both signs (BN backward, the random probes),
      so both forms lose 40-960 u of the largest gradient's norm to
      cancellation (measured). The same rounding in another order gives
      errors of the same size (measured ratio 0.83-1.08); an
      implementation that accumulated in low precision or lost a term
      would not.
    """
    neck64, feats64, probes64 = _setup(case)
    neck = copy.deepcopy(neck64).float().to(device)
    ref_neck = copy.deepcopy(neck).double()  # the float32 weights, exactly
    feats = [f.float().to(device) for f in feats64]
    probes = [p.float().to(device) for p in probes64]
    ref_run = _runner(ref_neck, [f.double() for f in feats],
                      [p.double() for p in probes])
    ref = ref_run(lambda inputs: _reference(ref_neck, inputs))
    run = _runner(neck, feats, probes)
    with autocast():
        opt = run(_optimised(neck))
        plain = run(lambda inputs: _reference(neck, inputs))
    u = UNIT_ROUNDOFF[amp_dtype]

    assert all(r.dtype == amp_dtype for r in opt[0])
    for p, g in zip(list(neck.parameters()) + feats, opt[2]):
        assert g.dtype == torch.float32 and g.device == p.device
        assert torch.isfinite(g).all()
    for i, (a, b) in enumerate(zip(ref[0] + [ref[1]], opt[0] + [opt[1]])):
        assert _error([b], [a]) <= 32 * u * a.norm().item(), i
    largest = max(g.norm().item() for g in ref[2])
    assert _error(opt[2], ref[2]) <= \
        1.25 * _error(plain[2], ref[2]) + u * largest
