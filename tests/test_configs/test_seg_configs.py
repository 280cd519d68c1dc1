"""Every segmentation config builds and trains; FRSKD twins follow the paper.

The configs are discovered with glob (every config under configs/ whose
``default_scope`` is ``mmseg``, demo configs included), so a new one is
covered as soon as it is added. For each, the model is built from the
config and trained for one step on a tiny batch (2 x 3 x 64 x 64, random
labels with ignored 255 pixels) through its data preprocessor; FRSKD
models get their stop-gradient from ``FRSKDHook().before_train`` as the
Runner does. Each FRSKD config must be its baseline plus the FRSKD neck,
decode head and hook, with the paper's segmentation settings.
"""
import copy
import glob
import math
import os.path as osp
import re
import types

import cv2
import numpy as np
import pytest
import torch
from config_files import CONFIG_DIR, cached_config, config_id, load
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

import frskd_mm  # noqa: F401
from frskd_mm.engine.hooks import FRSKDHook

register_all_modules(init_default_scope=False)

SIZE = 64  # stands for the 512x512 / 512x1024 crops


def _mentions_mmseg(path: str) -> bool:
    """Whether ``path`` or a local config it inherits names ``mmseg``."""
    with open(path) as f:
        text = f.read()
    if 'mmseg' in text:
        return True
    return any(
        _mentions_mmseg(osp.normpath(osp.join(osp.dirname(path), base)))
        for base in re.findall(r"""['"](\.{1,2}/[^'"]+\.py)['"]""", text))


def _discover():
    """Configs (not bases) whose ``default_scope`` is ``mmseg``.

    Only files whose inheritance chain mentions mmseg are loaded (loading
    all classification configs too would double the file's run time).
    """
    found = []
    for path in sorted(glob.glob(osp.join(CONFIG_DIR, '*', '*.py'))):
        if osp.basename(osp.dirname(path)) == '_base_':
            continue
        if _mentions_mmseg(path) and \
                cached_config(path).get('default_scope') == 'mmseg':
            found.append(path)
    return found


SEG_CONFIGS = _discover()
# Our stable recipe (frskd_stable_*) is its paper config plus a schedule:
# test_stable_configs.py checks it against that config.
STABLE_CONFIGS = [
    p for p in SEG_CONFIGS if osp.basename(p).startswith('frskd_stable_')
]
FRSKD_CONFIGS = [
    p for p in SEG_CONFIGS if cached_config(p).get('custom_hooks') is not None
    and p not in STABLE_CONFIGS
]
BASELINES = [
    p for p in SEG_CONFIGS
    if p not in FRSKD_CONFIGS and p not in STABLE_CONFIGS
]

# Paper-derived expectations per FRSKD config: (num_classes, crop size,
# backbone type, arch or depth).
EXPECTED = {
    'frskd/efficientnet_b0_voc12aug_512x512':
    (21, (512, 512), 'mmpretrain.EfficientNet', 'b0'),
    'frskd/efficientnet_b1_voc12aug_512x512':
    (21, (512, 512), 'mmpretrain.EfficientNet', 'b1'),
    'frskd/deeplabv3plus_r50_d8_voc12aug_512x512':
    (21, (512, 512), 'ResNetV1c', 50),
    'frskd/deeplabv3plus_r50_d8_cityscapes_512x1024':
    (19, (512, 1024), 'ResNetV1c', 50),
    'demo/frskd_seg_digits': (11, None, 'mmpretrain.ResNet_CIFAR', 18),
}


def twin_of(path: str) -> str:
    """The baseline config an FRSKD config is built on."""
    folder, name = osp.split(path)
    if osp.basename(folder) == 'demo':
        return osp.join(folder, name.replace('frskd_', 'baseline_', 1))
    return osp.join(CONFIG_DIR, 'baseline', name)


def is_frskd(cfg: Config) -> bool:
    return cfg.model.decode_head.type == 'FRSKDSegHead'


def build_model(cfg: Config):
    """Build the model as the Runner does, for 64x64 inputs on CPU."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.data_preprocessor.size = (SIZE, SIZE)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    # What the Runner does without a distributed launcher.
    return revert_sync_batchnorm(model)


def tiny_batch(num_classes: int):
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(2):
        inputs.append(
            torch.randint(
                0, 256, (3, SIZE, SIZE), dtype=torch.uint8, generator=g))
        label = torch.randint(0, num_classes, (1, SIZE, SIZE), generator=g)
        label[:, :4] = 255  # ignored border, as in VOC
        label[:, :, -3:] = 255
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(
            dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_seg_configs_are_discovered_in_twins():
    names = {config_id(p) for p in SEG_CONFIGS}
    assert set(EXPECTED) <= names
    for path in FRSKD_CONFIGS:
        assert twin_of(path) in BASELINES, (
            f'{config_id(path)} has no baseline twin')
    assert len(BASELINES) == len(FRSKD_CONFIGS)


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=config_id)
def test_seg_config_trains_one_step(path):
    cfg = load(path)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(
        imports=['frskd_mm'], allow_failed_imports=False)
    model = build_model(cfg)
    model.train()
    frskd = is_frskd(cfg)
    if frskd:
        # What the Runner does with custom_hooks before the first iteration.
        assert [h.type for h in cfg.custom_hooks] == ['FRSKDHook']
        FRSKDHook().before_train(types.SimpleNamespace(model=model))
    num_classes = model.decode_head.num_classes

    data = model.data_preprocessor(tiny_batch(num_classes), training=True)
    assert data['inputs'].shape == (2, 3, SIZE, SIZE)
    losses = model(**data, mode='loss')

    expected = {'decode.loss_ce', 'decode.acc_seg'}
    if frskd:
        expected |= {
            'decode.loss_teacher', 'decode.loss_kd', 'decode.loss_att'
        }
    if cfg.model.get('auxiliary_head') is not None:
        expected |= {'aux.loss_ce', 'aux.acc_seg'}
    assert set(losses) == expected
    for name, value in losses.items():
        value = value.float()
        assert torch.isfinite(value).all() and (value >= 0).all(), (name,
                                                                    value)
    if frskd:
        assert losses['decode.loss_kd'] > 0 and losses['decode.loss_att'] > 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()

    params = dict(model.named_parameters())
    bad = [
        n for n, p in params.items()
        if p.grad is not None and not torch.isfinite(p.grad).all()
    ]
    assert not bad, f'non-finite gradients: {bad}'
    unused = [
        n for n, p in params.items() if p.requires_grad and p.grad is None
    ]
    # Parameters outside the loss break DistributedDataParallel unless the
    # config asks it to look for them.
    assert not unused or cfg.get('find_unused_parameters') is True, (
        f'parameters without gradient: {unused[:5]}...; set '
        'find_unused_parameters = True')
    for prefix in ('backbone.', 'decode_head.', 'neck.', 'auxiliary_head.'):
        if any(n.startswith(prefix) for n in params):
            assert any(
                n.startswith(prefix) and n not in unused
                for n in params), f'no gradient reaches {prefix}'

    # Inference is the plain student, whatever the training setup.
    model.eval()
    with torch.no_grad():
        preds = model.predict(data['inputs'], data['data_samples'])
    assert preds[0].seg_logits.data.shape == (num_classes, SIZE, SIZE)
    assert preds[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)


@pytest.mark.parametrize('path', FRSKD_CONFIGS, ids=config_id)
def test_frskd_twin_differs_only_by_frskd(path):
    base = load(twin_of(path)).to_dict()
    frskd = load(path).to_dict()
    assert 'custom_hooks' not in base
    assert base['model']['decode_head']['type'] != 'FRSKDSegHead'
    assert base['model'].get('neck') is None
    # frskd_seg_runtime.py cannot set custom_imports (a key set by two bases
    # is an error in MMEngine): the baseline imports frskd_mm for its twin.
    assert base['custom_imports'] == frskd['custom_imports']

    fm = frskd['model']
    assert fm['neck']['type'] == 'FRSKDNeck'
    assert fm['neck'].get('num_classes') is None
    head = fm['decode_head']
    assert head['type'] == 'FRSKDSegHead'
    assert head['student'] == base['model']['decode_head']
    # The teacher decodes a refined level: width x that stage's channels.
    teacher = head['teacher']
    level = teacher.get('in_index', 0)
    assert teacher['in_channels'] == (
        fm['neck']['width'] * fm['neck']['in_channels'][level])
    assert len(fm['neck']['in_channels']) == len(fm['backbone']['out_indices'])

    for cfg in (base, frskd):
        cfg.pop('custom_hooks', None)
        cfg.pop('find_unused_parameters', None)
        cfg['model'].pop('neck', None)
        del cfg['model']['decode_head']
        del cfg['model']['backbone']['out_indices']
    assert frskd == base


@pytest.mark.parametrize('path', FRSKD_CONFIGS, ids=config_id)
def test_frskd_seg_config_follows_the_paper(path):
    cfg = load(path)
    num_classes, crop, backbone, arch = EXPECTED[config_id(path)]
    head = cfg.model.decode_head
    assert (head.alpha, head.beta, head.temperature) == (1.0, 50.0, 1.0)
    assert head.feature_loss == dict(type='AttentionTransferLoss')
    assert head.teacher_loss_weight == 1.0
    assert head.teacher.get('in_index', 0) == 0  # the finest level
    assert head.student.num_classes == num_classes
    assert cfg.model.neck.depth == 2
    # The self-teacher normalises like the rest of the model (SyncBN on
    # multi-GPU configs), so its statistics are synced too.
    assert cfg.model.neck.get('norm_cfg') == cfg.model.backbone.get(
        'norm_cfg'), 'set model.neck.norm_cfg = norm_cfg'

    # Distillation off for 2/3 of training, then the sigmoid ramp-up.
    hook, = cfg.custom_hooks
    max_iters = cfg.train_cfg.max_iters
    assert cfg.train_cfg.get('type',
                             'IterBasedTrainLoop') == ('IterBasedTrainLoop')
    assert hook.type == 'FRSKDHook' and hook.ramp_type == 'sigmoid'
    assert not hook.get('by_epoch', False)
    built = FRSKDHook(**{k: v for k, v in hook.items() if k != 'type'})
    at = lambda it: built.scale_at(  # noqa: E731 - as before_train_iter
        it / max_iters if built.by_ratio else it)
    warmup = round(2 * max_iters / 3)
    assert at(warmup - 1) == 0.0
    assert at(warmup) == pytest.approx(math.exp(-5.0), rel=2e-3)
    assert at(max_iters) == 1.0

    assert cfg.model.backbone.type == backbone
    assert cfg.model.backbone.get('arch',
                                  cfg.model.backbone.get('depth')) == arch
    if crop is not None:
        assert tuple(cfg.crop_size) == crop
        assert tuple(cfg.model.data_preprocessor.size) == crop
        assert max_iters == 40000
    if backbone == 'mmpretrain.EfficientNet':
        # Stages at strides 4/8/16/32.
        assert tuple(cfg.model.backbone.out_indices) == (2, 3, 4, 5)
        assert cfg.model.neck.in_channels == [24, 40, 112, 320]
    if backbone == 'ResNetV1c':
        assert cfg.model.auxiliary_head.type == 'FCNHead'
        assert cfg.model.auxiliary_head.num_classes == num_classes


def _walk(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _walk(v)


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=config_id)
def test_seg_config_downloads_no_weights(path):
    cfg = load(path)
    assert cfg.model.get('pretrained') is None
    assert cfg.get('load_from') is None
    for key, value in _walk(cfg.to_dict()):
        assert not (key == 'type' and value == 'Pretrained'), config_id(path)
        assert key != 'pretrained' or value is None, config_id(path)
        if isinstance(value, str):
            assert '://' not in value, (config_id(path), key, value)


@pytest.fixture(scope='module')
def digit_canvas_root(tmp_path_factory, write_canvases):
    """A few canvases written by the real converter."""
    root = str(tmp_path_factory.mktemp('digit_canvas'))
    counts = write_canvases(root, num_canvases={'train': 6, 'val': 3})
    assert counts == {'train': 6, 'val': 3}
    # Idempotent: a complete folder is left alone.
    stamp = osp.join(root, '.complete')
    mtime = osp.getmtime(osp.join(root, 'img_dir', 'train', '00000.png'))
    assert write_canvases(root, num_canvases={'train': 6, 'val': 3}) == \
        counts and osp.isfile(stamp)
    assert osp.getmtime(osp.join(root, 'img_dir', 'train',
                                 '00000.png')) == mtime
    return root


def test_digit_canvases_label_the_ink(digit_canvas_root):
    for split, n in (('train', 6), ('val', 3)):
        names = sorted(
            glob.glob(osp.join(digit_canvas_root, 'ann_dir', split, '*.png')))
        assert len(names) == n
        for name in names:
            seg = cv2.imread(name, cv2.IMREAD_UNCHANGED)
            img = cv2.imread(name.replace('ann_dir', 'img_dir'))
            assert seg.shape == (64, 64) and seg.dtype == np.uint8
            assert img.shape == (64, 64, 3)
            assert seg.max() <= 10 and (seg > 0).any() and (seg == 0).any()
            # Ink is brighter than the background it is painted on.
            gray = img.astype(np.float32).mean(-1)
            assert gray[seg > 0].mean() > gray[seg == 0].mean() + 40


@pytest.mark.parametrize(
    'path', [p for p in SEG_CONFIGS if osp.basename(osp.dirname(p)) == 'demo'],
    ids=config_id)
def test_demo_datasets_load_the_converter_output(path, digit_canvas_root):
    cfg = load(path)
    for split, n in (('train', 6), ('val', 3), ('test', 3)):
        ds_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
        ds_cfg.data_root = digit_canvas_root
        with DefaultScope.overwrite_default_scope('mmseg'):
            dataset = DATASETS.build(ds_cfg)
        assert len(dataset) == n
        assert dataset.metainfo['classes'][0] == 'background'
        assert len(dataset.metainfo['classes']) == (
            cfg.model.decode_head.get('num_classes')
            or cfg.model.decode_head.student.num_classes)
        item = dataset[0]
        assert item['inputs'].shape == (3, 64, 64)
        label = item['data_samples'].gt_sem_seg.data
        assert label.shape == (1, 64, 64) and int(label.max()) <= 10


def test_missing_digit_canvas_folder_is_a_clear_error(tmp_path):
    cfg = load(osp.join(CONFIG_DIR, 'demo', 'baseline_seg_digits.py'))
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.data_root = str(tmp_path / 'missing')
    with DefaultScope.overwrite_default_scope('mmseg'), pytest.raises(
            FileNotFoundError, match='digit_canvas_to_seg.py'):
        DATASETS.build(ds_cfg)
