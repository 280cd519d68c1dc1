"""Every config under configs/baseline and configs/frskd builds and trains.

The configs are discovered with glob, so a new config is covered as soon as
it is added. For each one the model is built from the config and trained for
one step on a tiny random batch (through the config's data preprocessor, so
Mixup/CutMix run as in training); its datasets are built on a fake copy of
the expected on-disk layout, after the tools' data check
(``check_dataset_configs``) has passed on it. Each FRSKD config must be its
baseline plus the FRSKD neck, head and hook, nothing else; with SLA
(``*_sla``) the baseline is SLA-SD and the FRSKD head is FRSKD + SLA.
"""
import copy
import glob
import os
import os.path as osp
import types

import cv2
import numpy as np
import pytest
import torch
from config_files import CONFIG_DIR, cached_config, config_id, load
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS, HOOKS, MODELS, TRANSFORMS
from mmpretrain.structures import DataSample
from mmpretrain.utils import register_all_modules

import frskd_mm  # noqa: F401
from frskd_mm.engine.hooks import FRSKDHook
from frskd_mm.utils.dataset_checks import (check_dataset_configs,
                                           dataset_configs)

register_all_modules(init_default_scope=False)


def _classification(paths):
    """Keep MMPretrain configs; segmentation ones have their own tests."""
    return [
        p for p in paths
        if cached_config(p).get('default_scope') == 'mmpretrain'
    ]


BASELINES = _classification(
    sorted(glob.glob(osp.join(CONFIG_DIR, 'baseline', '*.py'))))
FRSKDS = _classification(
    sorted(glob.glob(osp.join(CONFIG_DIR, 'frskd', '*.py'))))
ALL_CONFIGS = BASELINES + FRSKDS
NAMES = sorted({osp.basename(p)[:-3] for p in ALL_CONFIGS})

# Backbones that run at CIFAR resolution (32x32); the others use 224 crops.
CIFAR_BACKBONES = ('ResNet_CIFAR', 'WideResNetCIFAR')
FRSKD_LOSSES = {'loss_cls', 'loss_teacher', 'loss_kd', 'loss_att'}
# Self-supervised label augmentation (SLA, Lee et al., ICML 2020): the
# FRSKD head of each baseline head type, and the loss terms of each head.
FRSKD_HEAD_OF = {
    'LinearClsHead': 'FRSKDClsHead',
    'SLAClsHead': 'FRSKDSLAClsHead'
}
SLA_LOSSES = {'loss_cls', 'loss_joint', 'loss_sla'}
LOSSES = {
    'FRSKDClsHead': FRSKD_LOSSES,
    'SLAClsHead': SLA_LOSSES,
    'FRSKDSLAClsHead': FRSKD_LOSSES | SLA_LOSSES
    | {'loss_teacher_joint', 'loss_teacher_sla'},
}

# The paper's settings (Ji et al., CVPR 2021, and the authors' defaults):
# classes, alpha, beta, images per GPU, GPUs, epochs, lr steps, batch aug.
PAPER = {
    'resnet18_cifar100': (100, 2, 100, 128, 1, 200, [100, 150], None),
    'resnet18_cifar100_mixup':
    (100, 2, 100, 128, 1, 200, [100, 150], dict(type='Mixup', alpha=0.2)),
    'resnet18_cifar100_cutmix':
    (100, 2, 100, 128, 1, 200, [100, 150], dict(type='CutMix', alpha=1.0)),
    'wrn16_2_cifar100': (100, 2, 100, 128, 1, 200, [100, 150], None),
    # The authors' --aux sla --aux_lamb 1 (classification/README.md).
    'resnet18_cifar100_sla': (100, 2, 100, 128, 1, 200, [100, 150], None),
    'wrn16_2_cifar100_sla': (100, 2, 100, 128, 1, 200, [100, 150], None),
    'resnet18_tinyimagenet': (200, 3, 100, 128, 1, 200, [100, 150], None),
    'resnet18_cub200': (200, 1, 200, 32, 1, 200, [100, 150], None),
    'resnet18_mit67': (67, 1, 200, 32, 1, 200, [100, 150], None),
    'resnet18_stanford40': (40, 1, 200, 32, 1, 200, [100, 150], None),
    'resnet18_dogs': (120, 1, 200, 32, 1, 200, [100, 150], None),
    'resnet18_imagenet': (1000, 1, 200, 32, 8, 90, [30, 60], None),
    'resnet34_imagenet': (1000, 1, 200, 32, 8, 90, [30, 60], None),
}


def build_model(cfg: Config):
    """Build the model as the Runner does (with cfg.data_preprocessor)."""
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def is_frskd(cfg: Config) -> bool:
    return cfg.model.head.type in FRSKD_HEAD_OF.values()


def input_size(cfg: Config) -> int:
    return 32 if cfg.model.backbone.type in CIFAR_BACKBONES else 224


def test_configs_are_discovered_in_twins():
    assert BASELINES and FRSKDS
    baseline_names = {osp.basename(p) for p in BASELINES}
    frskd_names = {osp.basename(p) for p in FRSKDS}
    assert baseline_names == frskd_names, (
        'every FRSKD config needs its baseline twin and vice versa: '
        f'{sorted(baseline_names ^ frskd_names)}')
    assert {f'{name}.py' for name in PAPER} <= frskd_names


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=config_id)
def test_config_trains_one_step(path):
    cfg = load(path)
    model = build_model(cfg)
    model.train()
    frskd = is_frskd(cfg)
    if frskd:
        # What the Runner does with custom_hooks before the first iteration.
        assert any(h.type == 'FRSKDHook' for h in cfg.custom_hooks)
        FRSKDHook().before_train(types.SimpleNamespace(model=model))

    # ResNets and the self-teacher work at any size: 64 stands for 224.
    size = 32 if input_size(cfg) == 32 else 64
    num_classes = cfg.model.head.num_classes
    g = torch.Generator().manual_seed(0)
    inputs = [
        torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g)
        for _ in range(2)
    ]
    samples = [
        DataSample().set_gt_label(0),
        DataSample().set_gt_label(num_classes - 1)
    ]
    data = model.data_preprocessor(
        dict(inputs=inputs, data_samples=samples), training=True)
    assert data['inputs'].shape == (2, 3, size, size)
    assert data['inputs'].dtype == torch.float32
    if cfg.model.get('train_cfg', {}).get('augments'):
        for sample in data['data_samples']:
            score = sample.gt_score
            assert score.shape == (num_classes, )
            assert torch.isclose(score.sum(), torch.tensor(1.0))

    losses = model(**data, mode='loss')
    assert set(losses) == LOSSES.get(cfg.model.head.type, {'loss'})
    for name, value in losses.items():
        assert value.dim() == 0 and torch.isfinite(value), (name, value)
        assert value >= 0, (name, value)
    if frskd:
        assert losses['loss_att'] > 0
    sum(losses.values()).backward()
    no_grad = [
        n for n, p in model.named_parameters() if p.requires_grad and (
            p.grad is None or not torch.isfinite(p.grad).all())
    ]
    assert not no_grad, f'parameters without a finite gradient: {no_grad}'

    # Inference is the student alone, whatever the training setup.
    model.eval()
    with torch.no_grad():
        logits = model(data['inputs'], mode='tensor')
        preds = model(data['inputs'], mode='predict')
    assert logits.shape == (2, num_classes)
    assert len(preds) == 2 and preds[0].pred_score.shape == (num_classes, )


@pytest.mark.parametrize('name', NAMES)
def test_frskd_twin_differs_only_by_frskd(name):
    base = load(osp.join(CONFIG_DIR, 'baseline', f'{name}.py')).to_dict()
    frskd = load(osp.join(CONFIG_DIR, 'frskd', f'{name}.py')).to_dict()
    assert base['model']['head']['type'] in FRSKD_HEAD_OF
    assert 'custom_hooks' not in base
    assert [h['type'] for h in frskd['custom_hooks']] == ['FRSKDHook']
    # frskd_runtime.py cannot set custom_imports (a key set by two bases is
    # an error in MMEngine): the baseline must import frskd_mm for its twin.
    assert 'frskd_mm' in frskd['custom_imports']['imports']
    assert base['custom_imports'] == frskd['custom_imports']

    bm, fm = base['model'], frskd['model']
    assert fm['neck']['type'] == 'FRSKDNeck'
    assert fm['head']['type'] == FRSKD_HEAD_OF[bm['head']['type']]
    # The FRSKD head is the baseline's classifier plus the distillation.
    assert fm['head']['num_classes'] == bm['head']['num_classes']
    assert fm['head']['in_channels'] == bm['head']['in_channels']
    assert fm['head']['loss'] == bm['head']['loss']
    # The classifier starts as the baseline's (the authors' init).
    assert fm['head'].get('init_cfg',
                          'default') == bm['head'].get('init_cfg', 'default')
    assert fm['neck']['num_classes'] == bm['head']['num_classes']
    assert fm['neck']['in_channels'][-1] == bm['head']['in_channels']
    if bm['head']['type'] == 'SLAClsHead':  # the same SLA on both sides
        for key in ('sla_weight', 'temperature', 'joint_loss'):
            assert fm['head'].get(key) == bm['head'].get(key), key
    # The self-teacher sees every stage up to the baseline's last one.
    last = bm['backbone']['out_indices'][-1]
    assert list(fm['backbone']['out_indices']) == list(range(last + 1))
    assert len(fm['neck']['in_channels']) == last + 1

    for cfg in (base, frskd):
        cfg.pop('custom_hooks', None)
        del cfg['model']['neck'], cfg['model']['head']
        del cfg['model']['backbone']['out_indices']
    assert frskd == base


@pytest.mark.parametrize('name', sorted(PAPER))
def test_frskd_config_follows_the_paper(name):
    cfg = load(osp.join(CONFIG_DIR, 'frskd', f'{name}.py'))
    (num_classes, alpha, beta, batch, gpus, epochs, steps,
     augments) = PAPER[name]
    head, neck = cfg.model.head, cfg.model.neck
    assert (head.num_classes, head.alpha, head.beta,
            head.temperature) == (num_classes, alpha, beta, 4.0)
    assert (neck.width, neck.depth) == (2, 2)
    assert head.get('feature_loss') is None  # attention transfer
    assert cfg.data_preprocessor.num_classes == num_classes
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == batch * gpus
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.1, 0.9, 1e-4)
    scheduler = cfg.param_scheduler
    assert (scheduler.type, scheduler.by_epoch, list(scheduler.milestones),
            scheduler.gamma) == ('MultiStepLR', True, steps, 0.1)
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.default_hooks.logger.interval == 50
    train_aug = cfg.model.get('train_cfg', {}).get('augments')
    assert train_aug == augments
    if augments is not None:
        assert head.loss.use_soft


SLA_CONFIGS = sorted(
    config_id(p) for p in ALL_CONFIGS if config_id(p).endswith('_sla'))


def test_sla_configs_exist_in_twins():
    assert SLA_CONFIGS == [
        'baseline/resnet18_cifar100_sla', 'baseline/wrn16_2_cifar100_sla',
        'frskd/resnet18_cifar100_sla', 'frskd/wrn16_2_cifar100_sla'
    ]


@pytest.mark.parametrize('config', SLA_CONFIGS)
def test_sla_config_is_its_plain_config_plus_sla(config):
    """The authors' --aux sla --aux_lamb 1 on top of the plain config of the
    same folder: the SLA classifier and head, weight 1 at the
    distillation temperature T 4, nothing else changed."""
    sla = load(osp.join(CONFIG_DIR, f'{config}.py')).to_dict()
    plain = load(osp.join(CONFIG_DIR, f'{config[:-len("_sla")]}.py')).to_dict()
    sla_model, plain_model = sla.pop('model'), plain.pop('model')
    assert sla == plain
    assert sla_model.pop('type') == 'SLAImageClassifier'
    assert plain_model.pop('type') == 'ImageClassifier'
    head = sla_model.pop('head')
    plain_head = plain_model.pop('head')
    assert sla_model == plain_model  # backbone, neck
    assert head.pop('sla_weight') == 1.0
    assert head.get('temperature') == 4.0
    if head['type'] == 'FRSKDSLAClsHead':
        # The self-teacher's joint classifier reads the refined T_n.
        neck = sla_model['neck']
        assert head.pop('teacher_in_channels') == \
            neck['width'] * neck['in_channels'][-1]
        assert plain_head['type'] == 'FRSKDClsHead'
    else:
        assert head.pop('temperature') == 4.0
        assert plain_head['type'] == 'LinearClsHead'
    head.pop('type'), plain_head.pop('type')
    assert head == plain_head


# The FRSKD authors' CIFAR normalisation (their classification/dataset.py):
# CIFAR-10 statistics of [0, 1] images, here in 0-255 units.
AUTHORS_CIFAR_MEAN = [0.4914 * 255, 0.4822 * 255, 0.4465 * 255]
AUTHORS_CIFAR_STD = [0.2023 * 255, 0.1994 * 255, 0.2010 * 255]


@pytest.mark.parametrize('name', sorted(PAPER))
def test_paper_backbone_and_normalisation_are_the_authors(name):
    """The authors' WRN block; ResNets without MMPretrain's zero-initialised
    last BN per residual block (their resnet.py does not zero-init); CIFAR
    normalised with their CIFAR-10 statistics. The baseline twin has the
    same (test_frskd_twin_differs_only_by_frskd)."""
    cfg = load(osp.join(CONFIG_DIR, 'frskd', f'{name}.py'))
    backbone = cfg.model.backbone
    if backbone.type == 'WideResNetCIFAR':
        assert backbone.block == 'authors'
    else:
        assert backbone.type in ('ResNet', 'ResNet_CIFAR')
        assert backbone.zero_init_residual is False
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            model = MODELS.build(backbone)
        model.init_weights()
        last_norms = [
            m.norm2.weight for layer in model.res_layers
            for m in getattr(model, layer)
        ]
        assert all(torch.equal(w, torch.ones_like(w)) for w in last_norms)
    if cfg.train_dataloader.dataset.type == 'LocalCIFAR100':
        assert cfg.data_preprocessor.mean == pytest.approx(AUTHORS_CIFAR_MEAN)
        assert cfg.data_preprocessor.std == pytest.approx(AUTHORS_CIFAR_STD)


@pytest.mark.parametrize(
    'path',
    sorted(glob.glob(osp.join(CONFIG_DIR, 'demo', '*wrn16_2_digits.py'))),
    ids=config_id)
def test_demo_keeps_the_preact_block(path):
    """The README's demo numbers were measured with the standard
    pre-activation WRN block and the digits' own statistics."""
    cfg = load(path)
    assert cfg.model.backbone.block == 'preact'
    assert cfg.data_preprocessor.mean == [77.8] * 3


def _config_types(node):
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield node['type']
        for value in node.values():
            yield from _config_types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _config_types(value)


FRSKD_MM_TYPES = {
    name
    for registry in (MODELS, DATASETS, HOOKS, TRANSFORMS)
    for name, cls in registry.module_dict.items()
    if cls.__module__.startswith('frskd_mm.')
}


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=config_id)
def test_config_imports_frskd_mm(path):
    cfg = load(path)
    used = set(_config_types(cfg.to_dict())) & FRSKD_MM_TYPES
    if config_id(path).startswith('frskd'):
        assert used >= {'FRSKDNeck', 'FRSKDHook'}
        assert used & set(FRSKD_HEAD_OF.values())
    # Baselines set it even when they only use MMPretrain modules (ImageNet):
    # their FRSKD twins inherit it.
    assert cfg.get('custom_imports') == dict(
        imports=['frskd_mm'], allow_failed_imports=False), (
            f'{config_id(path)} uses {sorted(used)} from frskd_mm')


def _write_images(folder, names, size=(40, 48)):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        img = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        assert cv2.imwrite(osp.join(folder, name), img)


def _fake_data_root(ds_cfg, root):
    """Write the layout the dataset config expects, with 2 classes."""
    if ds_cfg.type == 'LocalCIFAR100':
        return root  # the cifar100_root fixture
    if ds_cfg.type == 'CustomDataset':
        for cls in ('class_a', 'class_b'):
            _write_images(
                osp.join(root, ds_cfg.data_prefix, cls), ['0.jpg', '1.JPEG'])
        return root
    if ds_cfg.type == 'ImageNet':
        # meta/<split>.txt lists "<path> <label>" under <split>/.
        split = ds_cfg.split
        _write_images(osp.join(root, split, 'n0'), ['0.JPEG'])
        os.makedirs(osp.join(root, 'meta'), exist_ok=True)
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('n0/0.JPEG 999\n')
        return root
    raise AssertionError(f'no fake data for dataset type {ds_cfg.type!r}; '
                         'extend _fake_data_root')


# Dataset types the configs may use: upstream ones, and ours that differ in
# behaviour (LocalCIFAR100: no md5 check, no download), not only in checks.
CONFIG_DATASET_TYPES = {'CustomDataset', 'ImageNet', 'LocalCIFAR100'}


def _one_per_data(paths):
    """The first config of each distinct data setup (the three dataloaders'
    datasets, the classes, the input size): the others (FRSKD twins,
    variants of one setting) load exactly the same datasets."""
    seen, found = set(), []
    for path in paths:
        cfg = cached_config(path)
        key = repr(([
            cfg[f'{split}_dataloader'].dataset
            for split in ('train', 'val', 'test')
        ], cfg.model.head.num_classes,
                    cfg.data_preprocessor.get('num_classes'), input_size(cfg)))
        if key not in seen:
            seen.add(key)
            found.append(path)
    return found


@pytest.mark.parametrize('path', _one_per_data(ALL_CONFIGS), ids=config_id)
def test_datasets_load_the_expected_layout(path, tmp_path, cifar100_root):
    cfg = load(path)
    size = input_size(cfg)
    num_classes = cfg.model.head.num_classes
    assert cfg.data_preprocessor.num_classes == num_classes
    for split in ('train', 'val', 'test'):
        ds_cfg = cfg[f'{split}_dataloader'].dataset
        assert ds_cfg.type in CONFIG_DATASET_TYPES, ds_cfg.type
        root = cifar100_root if ds_cfg.type == 'LocalCIFAR100' else str(
            tmp_path / split)
        ds_cfg.data_root = _fake_data_root(ds_cfg, root)
    check_dataset_configs(cfg)  # what the tools run before building
    for split in ('train', 'val', 'test'):
        ds_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            dataset = DATASETS.build(ds_cfg)
        assert len(dataset) > 0
        item = dataset[len(dataset) - 1]
        assert item['inputs'].shape == (3, size, size), split
        assert item['inputs'].dtype == torch.uint8
        label = int(item['data_samples'].gt_label)
        assert 0 <= label < num_classes


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=config_id)
def test_data_check_names_a_wrong_data_root(path, tmp_path):
    """Every config's data is checked before the build; a wrong data_root
    names the key to set."""
    cfg = load(path)
    for _, ds_cfg in dataset_configs(cfg):
        ds_cfg.data_root = str(tmp_path / 'nowhere')
    if cfg.train_dataloader.dataset.type == 'ImageNet':
        # Not a type the check knows: MMPretrain's ImageNet reports its
        # missing data itself, when the dataset is built.
        check_dataset_configs(cfg)
        return
    with pytest.raises(
            FileNotFoundError,
            match=r'^train_dataloader\.dataset\.data_root: .*'
            r'--cfg-options train_dataloader\.dataset\.'
            r'data_root=DIR'):
        check_dataset_configs(cfg)
