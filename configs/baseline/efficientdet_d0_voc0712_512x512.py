# EfficientDet-d0 segmentation on Pascal VOC 2007 + 2012, 512x512 crops,
# without FRSKD: the paper's VOC segmentation baseline (Ji et al., CVPR
# 2021: 79.07 mIoU; 80.55 with FRSKD, the configs/frskd/ twin), after
# the authors' segmentation/ code (main.py, utils/efficientdet.py, utils/
# dataset.py; the README's command: --batch_size 16). Data and pipelines:
# ../_base_/datasets/voc0712_512x512.py (evaluated as theirs: mIoU on the
# labels resized to 512x512, with their FWIoU beside it; one option gives
# MMSeg's original-size protocol, see there).
# - Backbone: MMPretrain's EfficientNet-B0 tapped where the authors tap
#   efficientnet_pytorch's blocks (TappedEfficientNet): P2..P5 with
#   24/40/80/320 channels at strides 4/8/16/32; the layers after the last
#   tap (the 1280-channel head conv) are not built. Their stem is conv ->
#   BN without the Swish (their layer0 leaves it out): stem_act=False. BN:
#   efficientnet_pytorch (theirs) uses eps 1e-3 and PyTorch momentum 0.01
#   (TF's 0.99 decay); MMPretrain's EfficientNet defaults to eps 1e-3 with
#   momentum 0.1, so norm_cfg sets momentum 0.01 as theirs. No stochastic
#   depth: the authors call the blocks one by one (drop_connect_rate None),
#   MMPretrain's drop_path_rate defaults to 0. Padding: efficientnet_pytorch
#   pads every conv with the TF 'same' padding of the arch's nominal input
#   (224 for B0) whatever the input; same_padding_size=224 does the same
#   (at 512x512 it equals MMPretrain's own padding for B0, not for B1/B2).
# - Neck: their decoder, SegBiFPN: the FPN (P2..P5 laterals, P6/P7 by
#   strided 3x3 convs, 64 channels for d0) and 3 BiFPN layers -> P2..P7.
# - Head: their classifier1 on P2 (SegBiFPNHead: 3x3 conv to 256 - BN (eps
#   1e-4, momentum 0.997: their values, passed to PyTorch as they are) -
#   ReLU - 3x3 conv to 21 classes, no dropout), logits upsampled
#   bilinearly (align_corners=False) to the label size; cross-entropy
#   averaged over the non-ignored pixels (avg_non_ignore=True, as their
#   nn.CrossEntropyLoss(ignore_index=255)).
# - Schedule: 60 epochs, validated every epoch; SGD lr 0.01, momentum 0.9,
#   weight decay 5e-4 (on every parameter, as theirs), lr x0.1 from epoch
#   40 (MultiStepLR by epoch, their step=[40]); batch 16 with 2-step
#   gradient accumulation (their accum_step = 32 / batch_size: MMEngine's
#   accumulative_counts=2 divides the loss by 2 and steps every second
#   iteration), gradients clipped to [-2, 2] element-wise before each step
#   (their clip_grad_value_(2.0): MMEngine's clip_grad type 'value').
# - One GPU with BN, as theirs: `python tools/train.py CONFIG`. On k GPUs
#   keep k x batch_size = 16 (--cfg-options train_dataloader.batch_size=
#   16/k) and add sync_bn='torch' (MMEngine turns every BN into SyncBN), so
#   BN still normalises over 16 images.
# - Weights: none are downloaded, and without a checkpoint the backbone
#   starts from random weights (TappedEfficientNet then warns once). The
#   authors start from efficientnet_pytorch's ImageNet weights
#   (EfficientNet.from_pretrained('efficientnet-b0')), which the paper's
#   numbers need. Fetch efficientnet-b0-355c32eb.pth yourself, convert it:
#     python tools/model_converters/efficientnet_pytorch_to_mmpretrain.py \
#         efficientnet-b0-355c32eb.pth checkpoints/efficientnet-b0_mm.pth
#   and point init_cfg at it, in a config inheriting this one:
#     model = dict(backbone=dict(init_cfg=dict(
#         type='Pretrained', checkpoint='checkpoints/efficientnet-b0_mm.pth',
#         prefix='backbone.')))
#   (the converted file's 1x1 head conv and classifier, which the taps do
#   not use, are reported as unexpected keys and skipped). See
#   docs/reproducing_the_paper.md.
# - Model selection: the last epoch's checkpoint is the result (the test
#   split is the validation split here, so no best checkpoint is kept);
#   --cfg-options default_hooks.checkpoint.save_best=mIoU keeps the best
#   one on the test split, which is then best-on-test, not held out.
_base_ = [
    '../_base_/datasets/voc0712_512x512.py',
    'mmseg::_base_/default_runtime.py',
]

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

crop_size = (512, 512)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    # Label 0 (background) as the authors' padding, not MMSeg's 255; the
    # pipeline already pads to 512 (see the dataset config), so this only
    # matters for inputs smaller than size.
    seg_pad_val=0,
    size=crop_size)
# The authors' BN for their FPN, BiFPN and classifiers.
det_norm_cfg = dict(type='BN', eps=1e-4, momentum=0.997)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='TappedEfficientNet',
        arch='b0',
        out_blocks=((2, 0), (3, 0), (4, 0), (5, -1)),
        stem_act=False,
        same_padding_size=224,
        norm_cfg=dict(type='BN', eps=1e-3, momentum=0.01)),
    neck=dict(
        type='SegBiFPN',
        in_channels=[24, 40, 80, 320],
        out_channels=64,
        num_layers=3),
    decode_head=dict(
        type='SegBiFPNHead',
        in_channels=64,
        in_index=0,
        channels=256,
        dropout_ratio=0,
        num_classes=21,
        norm_cfg=det_norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    accumulative_counts=2,
    clip_grad=dict(type='value', clip_value=2.0))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[40], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=60, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
log_processor = dict(by_epoch=True)
auto_scale_lr = dict(enable=False, base_batch_size=16)

# The student reads only P2: the last BiFPN layer's bottom-up outputs
# (P3..P7) get no gradient without the FRSKD self-teacher (as in the
# authors' baseline run), so DDP must allow unused parameters.
find_unused_parameters = True
