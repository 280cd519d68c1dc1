"""The paper configs start from the FRSKD authors' initialisation.

The rules, from the authors' module definitions (MingiJi/FRSKD,
classification/models/):

- CIFAR ResNet (``resnet.py``, ``CIFAR_ResNet``): no init of its own, so
  PyTorch's defaults: convs Kaiming uniform with a = sqrt(5), i.e.
  U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BN weight 1, bias 0; the ``fc``
  nn.Linear weight and bias both U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
- ImageNet ResNet (``resnet.py``, ``ResNet``): convs Kaiming normal with
  fan-out and the ReLU gain, N(0, 2 / fan_out); BN 1 and 0; the ``fc``
  keeps nn.Linear's default.
- WRN (``wrn.py``): convs N(0, 2 / (k * k * out_channels)), the same
  Kaiming normal; BN 1 and 0; the ``fc`` weight keeps nn.Linear's default,
  its bias is zeroed.
- The self-teacher (``bifpnc.py`` and ``utils.py``, ``BiFPNc``,
  ``DepthConvBlock``): no init of its own: PyTorch's defaults.

Each built model (baseline and FRSKD twin, initialised as the Runner does)
is checked tensor by tensor against its rule; the other paper configs are
checked to set the same init_cfg as the built ones of their kind.
"""
import copy
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
from config_files import CONFIG_DIR, load
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

import frskd_mm  # noqa: F401
from frskd_mm.models.necks import FRSKDNeck

#: Built and checked: (config name, rule of its backbone convs).
BUILT = [('resnet18_cifar100', 'pytorch'), ('wrn16_2_cifar100', 'kaiming'),
         ('resnet18_cub200', 'kaiming')]
#: Every paper classification config: its backbone kind.
PAPER = {
    'resnet18_cifar100': 'cifar_resnet',
    'resnet18_cifar100_mixup': 'cifar_resnet',
    'resnet18_cifar100_cutmix': 'cifar_resnet',
    'resnet18_cifar100_sla': 'cifar_resnet',
    'resnet18_cifar100_od': 'cifar_resnet',
    'resnet18_cifar100_fitnet': 'cifar_resnet',
    'resnet18_cifar100_uniform_bifpn': 'cifar_resnet',
    'resnet18_cifar100_cos': 'cifar_resnet',
    'resnet18_tinyimagenet': 'cifar_resnet',
    'wrn16_2_cifar100': 'wrn',
    'wrn16_2_cifar100_sla': 'wrn',
    'wrn16_2_cifar100_cos': 'wrn',
    'resnet18_cub200': 'resnet',
    'resnet18_mit67': 'resnet',
    'resnet18_stanford40': 'resnet',
    'resnet18_dogs': 'resnet',
    'resnet18_imagenet': 'resnet',
    'resnet34_imagenet': 'resnet',
    'resnet50_imagenet': 'resnet',
}


def _build(path):
    cfg = load(path)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    return model


def _fan_in(w):
    return w[0].numel()


def _assert_uniform_default(name, w):
    """PyTorch's default (conv or linear weight): U(+-1/sqrt(fan_in))."""
    bound = 1 / math.sqrt(_fan_in(w))
    assert w.abs().max() <= bound * (1 + 1e-6), name
    if w.numel() >= 1000:
        assert w.std().item() == pytest.approx(
            bound / math.sqrt(3), rel=0.1), name
        assert w.abs().max() > 0.95 * bound, name


def _assert_kaiming_normal(name, w):
    """N(0, 2 / fan_out), fan_out = out_channels x k x k."""
    std = math.sqrt(2 / (w.shape[0] * w[0, 0].numel()))
    if w.numel() >= 1000:
        assert w.std().item() == pytest.approx(std, rel=0.1), name
        assert w.abs().max() > 2.5 * std, name  # a normal's tails


def _assert_bias_default(name, b, fan_in):
    bound = 1 / math.sqrt(fan_in)
    assert b.abs().max() <= bound * (1 + 1e-6) and b.abs().max() > 0, name


def _check(module, prefix, conv_rule, fc_bias):
    """Every conv, BN and linear layer under ``module`` by its rule."""
    checked = 0
    for name, m in module.named_modules(prefix=prefix):
        if isinstance(m, nn.Conv2d):
            assert m.bias is None, name
            if conv_rule == 'pytorch':
                _assert_uniform_default(name, m.weight.detach())
            else:
                _assert_kaiming_normal(name, m.weight.detach())
        elif isinstance(m, nn.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight)), name
            assert torch.equal(m.bias, torch.zeros_like(m.bias)), name
        elif isinstance(m, nn.Linear):
            _assert_uniform_default(name, m.weight.detach())
            if fc_bias == 'zero' and name.endswith('.fc'):
                assert torch.equal(m.bias, torch.zeros_like(m.bias)), name
            else:
                _assert_bias_default(name, m.bias.detach(), m.in_features)
        else:
            continue
        checked += 1
    return checked


@pytest.mark.parametrize('kind', ['baseline', 'frskd'])
@pytest.mark.parametrize('name,conv_rule', BUILT)
def test_built_paper_model_has_the_authors_init(name, conv_rule, kind):
    model = _build(osp.join(CONFIG_DIR, kind, f'{name}.py'))
    fc_bias = 'zero' if name.startswith('wrn') else 'default'
    assert _check(model.backbone, 'backbone', conv_rule, fc_bias) > 10
    assert _check(model.head, 'head', conv_rule, fc_bias) == 1
    if kind == 'frskd':
        assert isinstance(model.neck, FRSKDNeck)
        # The self-teacher: PyTorch's defaults, its classifier included.
        assert _check(model.neck, 'neck', 'pytorch', 'default') > 20


@pytest.mark.parametrize('name', sorted(PAPER))
def test_every_paper_config_sets_the_authors_init(name):
    kind = PAPER[name]
    wrn_fc = load(osp.join(CONFIG_DIR, 'baseline',
                           'wrn16_2_cifar100.py')).model.head.init_cfg
    for folder in ('baseline', 'frskd'):
        model = load(osp.join(CONFIG_DIR, folder, f'{name}.py')).model
        head = model.head.get('init_cfg', 'default')
        assert head == (wrn_fc if kind == 'wrn' else None), (folder, head)
        backbone = model.backbone.get('init_cfg', 'default')
        # CIFAR ResNet: PyTorch's defaults (none of MMPretrain's Kaiming);
        # the others keep their backbone's default (the authors' rule).
        assert backbone == (None if kind == 'cifar_resnet' else 'default')
        if kind != 'wrn':
            assert model.backbone.zero_init_residual is False
