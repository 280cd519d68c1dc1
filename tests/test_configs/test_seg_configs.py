"""Every segmentation config builds and trains; FRSKD twins follow the paper.

The configs are discovered with glob (every config under configs/ whose
``default_scope`` is ``mmseg``, demo configs included), so a new one is
covered as soon as it is added. For each, the model is built from the
config and trained for one step on a tiny batch (2 x 3 x 64 x 64, random
labels with ignored 255 pixels) through its data preprocessor; FRSKD
models get their stop-gradient from ``FRSKDHook().before_train`` as the
Runner does. Each FRSKD config must be its baseline plus the FRSKD neck
(wrapping the baseline's neck, if it has one), decode head and hook.

The paper's VOC setting (``efficientdet_d{0,1}_voc0712_512x512``, and
the authors' d2, PAPER) is checked against the authors' segmentation code
(MingiJi/FRSKD, segmentation/: data, augmentation, evaluation, model,
losses, schedule, accumulation, clipping and the per-epoch distillation
factor); our extensions (EXPECTED:
DeepLabV3+, EfficientNet + UPerHead, Semantic FPN, the demo) keep the
paper's loss weights on MMSeg's iteration schedules.
"""
import copy
import glob
import math
import os.path as osp
import types

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from config_files import CONFIG_DIR, cached_config, config_id, load, mentions
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


def _discover():
    """Configs (not bases) whose ``default_scope`` is ``mmseg``.

    Only files whose inheritance chain mentions mmseg are loaded (loading
    all classification configs too would double the file's run time).
    """
    found = []
    for path in sorted(glob.glob(osp.join(CONFIG_DIR, '*', '*.py'))):
        if osp.basename(osp.dirname(path)) == '_base_':
            continue
        if mentions(path, 'mmseg') and \
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

# Our extensions (not the paper's setting) per FRSKD config: (num_classes,
# crop size, backbone type, arch or depth).
EXPECTED = {
    'frskd/efficientnet_b0_voc12aug_512x512':
    (21, (512, 512), 'mmpretrain.EfficientNet', 'b0'),
    'frskd/efficientnet_b1_voc12aug_512x512':
    (21, (512, 512), 'mmpretrain.EfficientNet', 'b1'),
    'frskd/deeplabv3plus_r50_d8_voc12aug_512x512':
    (21, (512, 512), 'ResNetV1c', 50),
    'frskd/deeplabv3plus_r50_d8_cityscapes_512x1024':
    (19, (512, 1024), 'ResNetV1c', 50),
    'frskd/fpn_r50_voc12aug_512x512': (21, (512, 512), 'ResNetV1c', 50),
    'demo/frskd_seg_digits': (11, None, 'mmpretrain.ResNet_CIFAR', 18),
}
# The authors' VOC setting per FRSKD config: (EfficientNet arch, BiFPN
# width, tapped channels, efficientnet_pytorch's nominal input size) of
# EfficientDet-d0, -d1 (the paper's) and -d2 (their efficientdet.py).
PAPER = {
    'frskd/efficientdet_d0_voc0712_512x512': ('b0', 64, [24, 40, 80,
                                                         320], 224),
    'frskd/efficientdet_d1_voc0712_512x512': ('b1', 88, [24, 40, 80,
                                                         320], 240),
    'frskd/efficientdet_d2_voc0712_512x512': ('b2', 112, [24, 48, 88,
                                                          352], 260),
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
    assert set(EXPECTED) | set(PAPER) <= names
    # Every FRSKD config has its expectations here.
    assert {config_id(p) for p in FRSKD_CONFIGS} == set(EXPECTED) | set(PAPER)
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
    # frskd_seg_runtime.py cannot set custom_imports (a key set by two bases
    # is an error in MMEngine): the baseline imports frskd_mm for its twin.
    assert base['custom_imports'] == frskd['custom_imports']

    fm = frskd['model']
    assert fm['neck']['type'] == 'FRSKDNeck'
    assert fm['neck'].get('num_classes') is None
    inner = fm['neck'].get('neck')
    # The baseline's own neck (if any) is the FRSKD neck's inner neck,
    # unchanged: the self-teacher refines its outputs.
    assert inner == base['model'].get('neck')
    if inner is None:
        assert len(fm['neck']['in_channels']) == len(
            fm['backbone']['out_indices'])
    else:
        # One refined level per inner-neck output, at its width.
        assert set(fm['neck']['in_channels']) == {inner['out_channels']}
    head = fm['decode_head']
    assert head['type'] == 'FRSKDSegHead'
    assert head['student'] == base['model']['decode_head']
    # The teacher decodes a refined level: width x that level's channels.
    teacher = head['teacher']
    level = teacher.get('in_index', 0)
    assert teacher['in_channels'] == (
        fm['neck']['width'] * fm['neck']['in_channels'][level])

    for cfg in (base, frskd):
        cfg.pop('custom_hooks', None)
        cfg.pop('find_unused_parameters', None)
        cfg['model'].pop('neck', None)
        del cfg['model']['decode_head']
        cfg['model']['backbone'].pop('out_indices', None)
    assert frskd == base


@pytest.mark.parametrize(
    'path', [p for p in FRSKD_CONFIGS if config_id(p) in EXPECTED],
    ids=config_id)
def test_extension_frskd_config_keeps_the_paper_weights(path):
    cfg = load(path)
    num_classes, crop, backbone, arch = EXPECTED[config_id(path)]
    head = cfg.model.decode_head
    assert (head.alpha, head.beta, head.temperature) == (1.0, 50.0, 1.0)
    assert head.feature_loss == dict(type='AttentionTransferLoss')
    assert head.teacher_loss_weight == 1.0
    assert head.teacher.get('in_index', 0) == 0  # the finest level
    assert head.student.num_classes == num_classes
    if cfg.model.neck.get('neck') is None:
        # The classification layer on the backbone stages.
        assert cfg.model.neck.depth == 2
        assert cfg.model.neck.get('layer_cfg') is None
    else:
        # On an inner neck (one width): the authors' segmentation teacher.
        assert cfg.model.neck.layer_cfg == dict(type='SegBiFPNLayer')
        assert cfg.model.neck.num_layers == 2
    assert cfg.model.neck.last_layer_top_down_only is True
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
    if 'deeplabv3plus' in config_id(path):
        assert cfg.model.auxiliary_head.type == 'FCNHead'
        assert cfg.model.auxiliary_head.num_classes == num_classes
    if 'fpn_r50' in config_id(path):
        # MMSeg's Semantic FPN: the self-teacher refines its four levels.
        assert cfg.model.neck.neck.type == 'FPN'
        assert cfg.model.neck.in_channels == [256] * 4
        assert cfg.model.neck.width == 1
        assert cfg.model.decode_head.student.type == 'FPNHead'


PAPER_CONFIGS = [p for p in FRSKD_CONFIGS if config_id(p) in PAPER]
# Their baselines too: everything but the FRSKD parts is the same.
PAPER_PAIRS = [(p, frskd) for frskd in PAPER_CONFIGS
               for p in (twin_of(frskd), frskd)]


def _bn_settings(modules) -> set:
    """The (eps, momentum) pairs of the BatchNorm layers in ``modules``."""
    return {(m.eps, m.momentum)
            for m in modules if isinstance(m, nn.modules.batchnorm._BatchNorm)}


def _pair_id(pair) -> str:
    return config_id(pair[0])


@pytest.mark.parametrize('pair', PAPER_PAIRS, ids=_pair_id)
def test_paper_voc_config_is_the_authors_setting(pair):
    """The authors' segmentation/main.py, utils/dataset.py and utils/
    efficientdet.py, as far as a config says it."""
    path, frskd_path = pair
    cfg = load(path)
    arch, width, stages, nominal = PAPER[config_id(frskd_path)]
    frskd = path == frskd_path

    # Data: VOC2007 + VOC2012 segmentation trainval, tested on VOC2007 test.
    train = cfg.train_dataloader
    assert train.batch_size == 16 and train.drop_last is True
    assert train.sampler == dict(type='DefaultSampler', shuffle=True)
    assert train.dataset.type == 'ConcatDataset'
    read = train.dataset.datasets + [
        cfg.val_dataloader.dataset, cfg.test_dataloader.dataset
    ]
    expected = [('2007', 'trainval'), ('2012', 'trainval'), ('2007', 'test'),
                ('2007', 'test')]
    for ds, (year, split) in zip(read, expected, strict=True):
        assert ds.type == 'PascalVOCDataset'
        assert ds.data_root == 'data/VOCdevkit'
        assert ds.data_prefix == dict(
            img_path=f'VOC{year}/JPEGImages',
            seg_map_path=f'VOC{year}/SegmentationClass')
        assert ds.ann_file == f'VOC{year}/ImageSets/Segmentation/{split}.txt'
    # mIoU, with the authors' FWIoU beside it; scored on the labels resized
    # to 512x512 (their FixedResize), as the paper's numbers.
    assert cfg.val_evaluator == dict(type='FWIoUMetric', iou_metrics=['mIoU'])
    assert cfg.test_evaluator == cfg.val_evaluator
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        assert loader.dataset.pipeline[2] == dict(
            type='EvalResize',
            scale=(512, 512),
            label_size='resized',
            backend='pillow')
    # ImageNet mean/std in RGB; padding labelled background (their fill 0).
    pre = cfg.model.data_preprocessor
    assert pre.mean == pytest.approx([255 * m for m in (0.485, 0.456, 0.406)])
    assert pre.std == pytest.approx([255 * s for s in (0.229, 0.224, 0.225)])
    assert pre.bgr_to_rgb is True
    assert (tuple(pre.size), pre.pad_val, pre.seg_pad_val) == ((512, 512), 0,
                                                               0)

    # Model: EfficientNet taps P2..P5 -> FPN + 3 BiFPN layers (P2..P7) ->
    # classifier1 on P2.
    backbone = cfg.model.backbone
    assert backbone.type == 'TappedEfficientNet' and backbone.arch == arch
    assert backbone.out_blocks == ((2, 0), (3, 0), (4, 0), (5, -1))
    assert backbone.stem_act is False  # their layer0: conv -> BN
    # efficientnet_pytorch pads for the arch's nominal input.
    assert backbone.same_padding_size == nominal
    neck = cfg.model.neck.neck if frskd else cfg.model.neck
    assert neck == dict(
        type='SegBiFPN', in_channels=stages, out_channels=width, num_layers=3)
    student = cfg.model.decode_head.student if frskd else \
        cfg.model.decode_head
    assert student.type == 'SegBiFPNHead'
    assert (student.in_channels, student.in_index, student.channels,
            student.num_classes, student.dropout_ratio,
            student.align_corners) == (width, 0, 256, 21, 0, False)
    assert student.norm_cfg == dict(type='BN', eps=1e-4, momentum=0.997)
    assert student.loss_decode == dict(
        type='CrossEntropyLoss',
        use_sigmoid=False,
        loss_weight=1.0,
        avg_non_ignore=True)

    # Schedule: 60 epochs validated each; SGD 0.01 (x0.1 from epoch 40),
    # momentum 0.9, weight decay 5e-4; 2-step accumulation; clipping 2.
    assert cfg.train_cfg == dict(
        type='EpochBasedTrainLoop', max_epochs=60, val_interval=1)
    assert cfg.optim_wrapper == dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
        accumulative_counts=2,
        clip_grad=dict(type='value', clip_value=2.0))
    assert cfg.param_scheduler == [
        dict(type='MultiStepLR', by_epoch=True, milestones=[40], gamma=0.1)
    ]
    assert cfg.default_hooks.checkpoint.by_epoch is True
    # The last epoch is the result: no model picked on the test split.
    assert 'save_best' not in cfg.default_hooks.checkpoint
    assert cfg.log_processor.by_epoch is True

    # Idle parameters only in the baseline (the last BiFPN layer's bottom-up
    # path, read by the self-teacher in the FRSKD twin).
    assert cfg.find_unused_parameters is (not frskd)
    if not frskd:
        assert cfg.get('custom_hooks') is None
        return
    # FRSKD: BiFPN2 (2 more layers, the last top-down only) on the six
    # levels, classifier2 (conv bias) on its P2, AT over the six levels,
    # KD over every pixel, alpha 1, beta 50, T 1.
    assert cfg.model.neck == dict(
        type='FRSKDNeck',
        neck=neck,
        in_channels=[width] * 6,
        width=1,
        num_layers=2,
        layer_cfg=dict(type='SegBiFPNLayer'),
        last_layer_top_down_only=True,
        norm_cfg=dict(type='BN'))
    head = cfg.model.decode_head
    assert head.teacher == dict(
        in_channels=width,
        in_index=0,
        channels=256,
        bias=True,
        norm_cfg=dict(type='BN', eps=1e-4, momentum=0.997))
    assert (head.alpha, head.beta, head.temperature, head.teacher_loss_weight,
            head.kd_pixels) == (1.0, 50.0, 1.0, 1.0, 'all')
    assert head.feature_loss == dict(type='AttentionTransferLoss')
    assert cfg.custom_hooks == [
        dict(
            type='FRSKDHook',
            by_epoch=True,
            warmup=40,
            ramp=20,
            ramp_type='sigmoid',
            epoch_steps=True)
    ]


def _authors_lr(epoch: int) -> float:
    """segmentation/main.py: lr 0.01, x0.1 from each epoch in step=[40]."""
    return 0.01 * (0.1 if epoch >= 40 else 1.0)


def _authors_factor(epoch: int) -> float:
    """segmentation/main.py: alpha/beta factor of epoch ``epoch`` (from
    0): 0 before warmup 40, then sigmoid_rampup(epoch + 1 - 40, 60 - 40)."""
    if epoch < 40:
        return 0.0
    phase = 1.0 - float(np.clip(epoch + 1 - 40, 0, 20)) / 20
    return float(np.exp(-5.0 * phase * phase))


@pytest.mark.parametrize('path', PAPER_CONFIGS, ids=config_id)
def test_paper_voc_schedule_is_the_authors(path):
    """The built optimizer wrapper, LR schedule and FRSKDHook give the
    authors' values in every epoch."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS
    cfg = load(path)
    model = build_model(cfg)
    model.train()

    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    assert wrapper._accumulative_counts == 2
    assert wrapper.clip_func is nn.utils.clip_grad_value_
    assert wrapper.clip_grad_kwargs == dict(clip_value=2.0)
    # Weight decay on every parameter (BN and biases included), as theirs.
    group, = wrapper.optimizer.param_groups
    assert group['weight_decay'] == 5e-4 and group['momentum'] == 0.9
    assert len(group['params']) == len(list(model.parameters()))
    scheduler = PARAM_SCHEDULERS.build(
        dict(copy.deepcopy(cfg.param_scheduler[0]), optimizer=wrapper))

    hook_cfg = dict(cfg.custom_hooks[0])
    hook_cfg.pop('type')
    hook = FRSKDHook(**hook_cfg)
    hook.before_train(types.SimpleNamespace(model=model))
    # 3,335 images / 16, drop_last: 208 iterations per epoch.
    iters = 208
    for epoch in range(60):
        assert wrapper.get_lr()['lr'] == [pytest.approx(_authors_lr(epoch))]
        for batch_idx in (0, iters // 2, iters - 1):
            runner = types.SimpleNamespace(
                epoch=epoch,
                iter=epoch * iters + batch_idx,
                max_iters=60 * iters,
                train_dataloader=range(iters))
            hook.before_train_iter(runner, batch_idx)
            assert model.decode_head.distill.scale == pytest.approx(
                _authors_factor(epoch), abs=1e-12), (epoch, batch_idx)
        scheduler.step()
    assert _authors_factor(40) == pytest.approx(math.exp(-5 * 0.95**2))
    assert _authors_factor(59) == 1.0


@pytest.mark.parametrize('path', PAPER_CONFIGS, ids=config_id)
def test_paper_voc_model_is_the_authors(path):
    """The built FRSKD model: the authors' BN settings, conv biases, six
    levels of one width refined, both CEs over the valid pixels."""
    cfg = load(path)
    _, width, stages, _ = PAPER[config_id(path)]
    model = build_model(cfg)
    neck, head = model.neck, model.decode_head
    assert list(model.backbone.tap_channels) == stages
    # efficientnet_pytorch's BN (eps 1e-3, PyTorch momentum 0.01) in the
    # backbone; their FPN and classifiers eps 1e-4, momentum 0.997; their
    # BiFPN layers PyTorch's defaults.
    assert _bn_settings(model.backbone.modules()) == {(1e-3, 0.01)}
    assert _bn_settings(neck.neck.modules()) == {(1e-4, 0.997), (1e-5, 0.1)}
    inner = {id(m) for m in neck.neck.modules()}
    assert _bn_settings(m for m in neck.modules()
                        if id(m) not in inner) == {(1e-5, 0.1)}
    for decoder in (head.student, head.teacher):
        assert _bn_settings(decoder.modules()) == {(1e-4, 0.997)}
        convs = [m for m in decoder.modules() if isinstance(m, nn.Conv2d)]
        assert len(convs) == 2 and all(c.bias is not None for c in convs)
    assert head.student.loss_decode.avg_non_ignore is True
    assert head.teacher_loss.avg_non_ignore is True
    assert head.kd_pixels == 'all'

    model.train()
    FRSKDHook().before_train(types.SimpleNamespace(model=model))
    x = torch.randn(2, 3, SIZE, SIZE)
    feats = neck(model.backbone(x))
    assert [f.shape[1] for f in feats] == [width] * 6
    assert [r.shape for r in feats.refined] == [f.shape for f in feats]
    # P2..P7 at strides 4..128 (64x64 input: P6 and P7 are 1x1).
    assert [f.shape[-1] for f in feats] == [16, 8, 4, 2, 1, 1]
    model.eval()
    with torch.no_grad():
        # Eval mode: the inner neck's outputs alone (no teacher runs).
        assert not hasattr(neck(model.backbone(x)), 'refined')


def test_voc0712_pipelines_are_the_authors(voc0712_root):
    """The real 512x512 pipelines on 48x64 images: short side drawn from
    the integers 256..1024, 512x512 crops padded with image 0 and label 0,
    flips; validation resized to 512x512 with its label (the authors'
    scoring), or with the original label by the documented option."""
    cfg = load(
        osp.join(CONFIG_DIR, 'baseline', 'efficientdet_d0_voc0712_512x512.py'))
    # Their order: flip, short side to randint(256, 1024), crop 512, pad
    # (fill 0 for image and label), blur with p 0.5 and radius U(0, 1).
    pipeline = cfg.train_dataloader.dataset.datasets[0].pipeline
    assert pipeline == cfg.train_dataloader.dataset.datasets[1].pipeline
    assert [t.type for t in pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'RandomFlip', 'RandomResize',
        'RandomCrop', 'Pad', 'mmpretrain.GaussianBlur', 'PackSegInputs'
    ]
    assert (pipeline[2].prob, pipeline[2].direction) == (0.5, 'horizontal')
    assert [short for _, short in pipeline[3].scale] == [256, 1024]
    assert pipeline[3].keep_ratio is True
    assert pipeline[5].pad_val == dict(img=0, seg=0)
    blur = pipeline[6]
    assert (blur.prob, blur.magnitude_range,
            blur.magnitude_std) == (0.5, (0, 1), 'inf')
    # MMPretrain's BaseAugTransform: uniform(0, magnitude_level 10) / 10
    # mapped onto magnitude_range: radius ~ U(0, 1).
    assert blur.get('magnitude_level', 10) == blur.get('total_level', 10)
    with DefaultScope.overwrite_default_scope('mmseg'):
        train = copy.deepcopy(cfg.train_dataloader.dataset)
        for ds in train.datasets:
            ds.data_root = voc0712_root
        train = DATASETS.build(train)
        val = copy.deepcopy(cfg.val_dataloader.dataset)
        val.data_root = voc0712_root
        val = DATASETS.build(val)
    assert len(train) == 4 and len(val) == 2
    np.random.seed(0)
    shorts, flips = [], set()
    for i in range(32):
        item = train[i % 4]
        img = item['inputs']
        label = item['data_samples'].gt_sem_seg.data
        assert img.shape == (3, 512, 512) and label.shape == (1, 512, 512)
        meta = item['data_samples'].metainfo
        flips.add(meta['flip'])
        short = 48 * meta['scale_factor'][1]
        assert short == pytest.approx(round(short), abs=1e-6)
        short = round(short)
        shorts.append(short)
        assert 256 <= short <= 1024
        assert set(label.unique().tolist()) <= set(range(21)) | {255}
        long = round(64 * meta['scale_factor'][0])
        assert long == round(64 * short / 48)
        # Padded rows and columns: label 0 (background, not 255) and a
        # black image (the blur reaches a few pixels into it).
        assert (label[:, short:] == 0).all()
        assert (label[:, :, long:] == 0).all()
        assert (img[:, short + 6:] == 0).all()
        assert (img[:, :, long + 6:] == 0).all()
    assert flips == {True, False}
    assert min(shorts) < 512 < max(shorts)
    item = val[0]
    assert item['inputs'].shape == (3, 512, 512)
    assert item['data_samples'].gt_sem_seg.data.shape == (1, 512, 512)
    assert item['data_samples'].ori_shape == (512, 512)
    # MMSeg's protocol: --cfg-options ...pipeline.2.label_size=original.
    cfg.merge_from_dict({
        'val_dataloader.dataset.pipeline.2.label_size': 'original',
        'val_dataloader.dataset.data_root': voc0712_root
    })
    with DefaultScope.overwrite_default_scope('mmseg'):
        item = DATASETS.build(copy.deepcopy(cfg.val_dataloader.dataset))[0]
    assert item['inputs'].shape == (3, 512, 512)
    assert item['data_samples'].gt_sem_seg.data.shape == (1, 48, 64)
    assert item['data_samples'].ori_shape == (48, 64)


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
