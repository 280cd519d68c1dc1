# EfficientNet-B0 on Pascal VOC 2012 + SBD aug, 512x512 crops, without
# FRSKD: the paper's VOC segmentation setting (Ji et al., CVPR 2021,
# EfficientDet-d0: 79.07 -> 80.55 mIoU with FRSKD) as close as
# MMSegmentation allows.
# - Backbone: MMPretrain's EfficientNet-B0 (cross-scope type), the four
#   stages at strides 4/8/16/32 (out_indices 2..5: 24/40/112/320 channels).
# - Decoder: the paper decodes with EfficientDet's BiFPN, which MMSeg does
#   not have. UPerHead (pyramid pooling + FPN fusion of all four levels) is
#   MMSeg's multi-level pyramid decoder that reads the backbone stages
#   directly, given EfficientDet-d0's BiFPN width (64 channels). (MMSeg's
#   FPN neck + FPNHead would need the neck slot, which the FRSKD twin uses
#   for the self-teacher.)
# - Schedule: 40k iterations at batch 16 (4 GPUs x 4 images,
#   tools/dist_train.sh CONFIG 4) = 60 epochs of the 10,582 images, as the
#   authors' 60 epochs; MMSeg's SGD lr 0.01 with poly decay. On another
#   number of GPUs keep GPUs x batch_size = 16 or use --auto-scale-lr.
# - Weights: none are downloaded; the backbone starts from MMPretrain's
#   random initialisation. The paper starts from ImageNet weights: to do
#   the same, download an MMPretrain EfficientNet-B0 ImageNet checkpoint
#   (MMPretrain's EfficientNet model zoo) and add, in a config inheriting
#   this one,
#     model = dict(backbone=dict(init_cfg=dict(
#         type='Pretrained', checkpoint='<path or URL>',
#         prefix='backbone.')))
_base_ = [
    '../_base_/datasets/voc12aug_512x512.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='mmpretrain.EfficientNet',
        arch='b0',
        out_indices=(2, 3, 4, 5),
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='UPerHead',
        in_channels=[24, 40, 112, 320],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=64,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_dataloader = dict(batch_size=4)
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=3, save_best='mIoU'))

# EfficientNet's last 1x1 conv (backbone.layers.6, 1280 channels) is built
# but not among out_indices, so it gets no gradient: DDP must allow that.
find_unused_parameters = True
