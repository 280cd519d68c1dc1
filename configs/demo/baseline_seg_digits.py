# README demo, segmentation baseline: a small FCN on digit canvases (64x64
# canvases with 1-3 scikit-learn digits; classes background and 0..9),
# written by tools/dataset_converters/digit_canvas_to_seg.py to
# data/digit_canvas (1,200 train / 300 val canvases in MMSeg's
# img_dir/ann_dir layout), trained from scratch with a short CPU schedule
# (800 iterations at batch 16, under 2 minutes on 2 CPU cores).
# Model: MMPretrain's ResNet_CIFAR-18 at a quarter of the usual width
# (16..128 channels), its stages at strides 2/4/8/8 (the last one dilated,
# as MMSeg's D8 backbones), and MMSeg's FCNHead on the last stage.
# Two departures from MMSeg's defaults, both for training from scratch in a
# few hundred iterations: AdamW instead of SGD, and the head's classifier
# (conv_seg) keeps PyTorch's default initialisation (init_cfg=None) instead
# of MMSeg's N(0, 0.01), which stalls a randomly initialised backbone on
# "all background" for hundreds of iterations. Mean/std are those of the
# training canvases.
_base_ = [
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[57.2] * 3,
    std=[42.3] * 3,
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size=(64, 64))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='mmpretrain.ResNet_CIFAR',
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(2, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='FCNHead',
        in_channels=128,
        in_index=3,
        channels=64,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=False,
        init_cfg=None,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

dataset_type = 'DigitCanvasDataset'
data_root = 'data/digit_canvas'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),  # no flips or rescaling for digits
]
test_pipeline = train_pipeline
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=30,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

max_iters = 800
optimizer = dict(_delete_=True, type='AdamW', lr=4e-3, weight_decay=1e-4)
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
