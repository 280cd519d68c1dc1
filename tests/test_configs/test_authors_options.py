"""The authors' options beyond the paper's tables, as configs: the cosine
schedule of their classification script, the FitNet feature term, the
ResNet-50 self-teacher; and model selection: no config picks its model on
the split it reports.

Facts from the authors' code (MingiJi/FRSKD, classification/): main.py
(``--scheduler cos``: ``CosineAnnealingLR(optimizer, epochs)`` stepped per
epoch), distill_loss/FitNet.py (regressors to ``width x c_i`` channels),
models/bifpnc.py and utils.py (``BiFPNc`` and ``DepthConvBlock``).
"""
import copy
import glob
import os.path as osp

import pytest
import torch
from config_files import CONFIG_DIR, config_id, load
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS, DefaultScope
from mmpretrain.registry import MODELS

import frskd_mm  # noqa: F401

COSINE = ['resnet18_cifar100_cos', 'wrn16_2_cifar100_cos']


def _lrs(scheduler_cfg, epochs=200):
    """The lr of each epoch under an MMEngine scheduler config, stepped once
    per epoch as the Runner does for by_epoch schedulers."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.1)
    wrapper = OptimWrapper(optimizer)
    scheduler = PARAM_SCHEDULERS.build(
        dict(copy.deepcopy(scheduler_cfg), optimizer=wrapper))
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        scheduler.step()
    return lrs


def _authors_cosine_lrs(epochs=200):
    """main.py --scheduler cos: torch's CosineAnnealingLR(T_max=epochs)."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize('name', COSINE)
def test_cosine_variant_is_the_authors_schedule(name):
    plain = load(osp.join(CONFIG_DIR, 'frskd', name[:-len('_cos')] + '.py'))
    for folder in ('baseline', 'frskd'):
        cfg = load(osp.join(CONFIG_DIR, folder, f'{name}.py'))
        assert cfg.train_cfg.max_epochs == 200
        assert cfg.optim_wrapper == plain.optim_wrapper
        ours = _lrs(cfg.param_scheduler)
        assert ours == pytest.approx(_authors_cosine_lrs(), abs=1e-12)
        assert ours[0] == 0.1 and ours[100] == pytest.approx(0.05)
        # Nothing else differs from the step-schedule config.
        rest = cfg.to_dict()
        base = load(osp.join(CONFIG_DIR, folder,
                             name[:-len('_cos')] + '.py')).to_dict()
        rest.pop('param_scheduler'), base.pop('param_scheduler')
        assert rest == base


def test_fitnet_config_is_the_authors_fit():
    cfg = load(osp.join(CONFIG_DIR, 'frskd', 'resnet18_cifar100_fitnet.py'))
    plain = load(osp.join(CONFIG_DIR, 'frskd', 'resnet18_cifar100.py'))
    head = cfg.model.head
    # HintLoss: one regressor per stage, to width x c_i channels.
    neck = cfg.model.neck
    assert head.feature_loss == dict(
        type='FitNetLoss',
        student_channels=neck.in_channels,
        teacher_channels=[neck.width * c for c in neck.in_channels])
    assert (head.alpha, head.beta, head.temperature) == (2.0, 100.0, 4.0)
    rest, base = cfg.to_dict(), plain.to_dict()
    del rest['model']['head']['feature_loss']
    assert rest == base


def _depth_conv_block(c_in, c_out, kernel, depth=1):
    """Parameters of the authors' DepthConvBlock: 1x1 conv (no bias) + BN,
    or depthwise 3x3 + pointwise (no biases) + BN, repeated ``depth``
    times."""
    if kernel == 1:
        return c_in * c_out + 2 * c_out
    first = c_in * 9 + c_in * c_out + 2 * c_out
    return first + (depth - 1) * (c_out * 9 + c_out * c_out + 2 * c_out)


def authors_bifpnc(channels, num_classes, width=2, depth=2):
    """Parameters of the authors' BiFPNc (one layer, first_time=True) with
    its classifier, from their module definitions."""
    total, n = 0, len(channels)
    for i, c in enumerate(channels):
        cw = c * width
        total += _depth_conv_block(c, cw, 1)  # lat_conv
        if i != 0:
            total += _depth_conv_block(c, cw, 1)  # lat_conv2
            total += _depth_conv_block(cw, cw, 3, depth)  # down_conv
            total += 3 if i < n - 1 else 2  # down_weight
            total += _depth_conv_block(channels[i - 1] * width, cw, 1)
        if i != n - 1:
            total += _depth_conv_block(channels[i + 1] * width, cw, 1)
            total += _depth_conv_block(cw, cw, 3, depth)  # up_conv
            total += 2  # up_weight
    return total + channels[-1] * width * num_classes + num_classes


def test_resnet50_self_teacher_has_the_authors_parameters():
    """The figure of docs/reproducing_the_paper.md: 103,606,262 (ResNet-18
    on CIFAR-100: 6,375,794, the README's 6.38 M)."""
    assert authors_bifpnc([64, 128, 256, 512], 100) == 6375794
    expected = authors_bifpnc([256, 512, 1024, 2048], 1000)
    assert expected == 103606262
    cfg = load(osp.join(CONFIG_DIR, 'frskd', 'resnet50_imagenet.py'))
    assert cfg.model.neck.in_channels == [256, 512, 1024, 2048]
    assert cfg.model.head.in_channels == 2048
    # Counted on the meta device: no memory, no initialisation.
    with torch.device('meta'), DefaultScope.overwrite_default_scope(
            'mmpretrain'):
        neck = MODELS.build(copy.deepcopy(cfg.model.neck))
    assert sum(p.numel() for p in neck.parameters()) == expected


@pytest.mark.parametrize(
    'path',
    sorted(
        glob.glob(osp.join(CONFIG_DIR, 'baseline', '*.py')) +
        glob.glob(osp.join(CONFIG_DIR, 'frskd', '*.py'))),
    ids=config_id)
def test_no_config_picks_its_model_on_the_reported_split(path):
    """The paper configs validate on the split whose number they report
    (CIFAR/ImageNet/fine-grained test sets, VOC2007 test, the VOC12/
    Cityscapes val sets): the result is the last epoch's, and a best
    checkpoint is kept only when the user asks for it."""
    cfg = load(path)
    assert 'save_best' not in cfg.default_hooks.checkpoint
