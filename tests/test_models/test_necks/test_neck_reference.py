"""The optimised self-teacher computes exactly the paper's formula.

The reference below is the plain, unoptimised BiFPN forward (ReLU on every
fused input, resize before every 1x1 resampling conv, zero-padded 'same'
max pooling), written against the neck's own parameters. The neck's
outputs, the FRSKD losses and every gradient must match it. Both run in
float64, so that a mismatch can only be a different formula: in float32
the sums in another order (channels-last, fused weighted sums) round
differently by up to ~2e-4 relative on gradients that are sums of many
large terms (the fusion weights), depending on the thread count.
"""
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


@pytest.mark.parametrize('case', list(CASES))
def test_outputs_and_gradients_match_the_plain_formula(case):
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

    def run(forward):
        inputs = [f.clone().requires_grad_() for f in feats]
        refined, logits = forward(inputs)
        loss = logits.logsumexp(1).sum() + sum(
            (r * p).sum() for r, p in zip(refined, probes))
        grads = torch.autograd.grad(loss, list(neck.parameters()) + inputs)
        return [r.detach() for r in refined], logits.detach(), grads

    def optimised(inputs):
        out = neck(tuple(inputs))
        return out.refined, out.teacher_logits

    ref = run(lambda inputs: _reference(neck, inputs))
    opt = run(optimised)
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
