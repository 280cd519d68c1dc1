# EfficientNet-B0 + UPerHead on Pascal VOC 2012 + SBD aug, 512x512 crops,
# without FRSKD: our extension, not the paper's setting. The paper's VOC
# segmentation experiment (EfficientDet-d0, VOC2007 + VOC2012, 60 epochs;
# 79.07 -> 80.55 mIoU with FRSKD) is
# efficientdet_d0_voc0712_512x512.py (and its configs/frskd/ twin); this
# config is MMSeg's usual VOC-aug recipe with an EfficientNet backbone and
# an MMSeg decoder.
# - Backbone: MMPretrain's EfficientNet-B0 (cross-scope type), the four
#   stages at strides 4/8/16/32 (out_indices 2..5: 24/40/112/320 channels;
#   the paper's EfficientDet taps other blocks, see TappedEfficientNet).
# - Decoder: UPerHead (pyramid pooling + FPN fusion of all four levels),
#   MMSeg's multi-level pyramid decoder reading the backbone stages
#   directly, at EfficientDet-d0's BiFPN width (64 channels), instead of
#   the authors' FPN + BiFPN decoder (SegBiFPN in the efficientdet configs).
# - Schedule: MMSeg's 40k iterations at batch 16 (4 GPUs x 4 images,
#   tools/dist_train.sh CONFIG 4), about 60 epochs of the 10,582 images;
#   SGD lr 0.01 with poly decay. (The authors: 60 epochs of the ~3.3k
#   VOC2007 + 2012 trainval images, step decay, 2-step accumulation.) On
#   another number of GPUs keep GPUs x batch_size = 16 or use
#   --auto-scale-lr.
# - Weights: none are downloaded; the backbone starts from MMPretrain's
#   random initialisation. For ImageNet weights, download an MMPretrain
#   EfficientNet-B0 ImageNet checkpoint (MMPretrain's EfficientNet model
#   zoo) and add, in a config inheriting this one,
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
# The last checkpoint is the result: the validation split is the one the
# numbers are reported on, so no best checkpoint is picked on it (add
# save_best='mIoU' to keep one; it is then best-on-validation).
default_hooks = dict(checkpoint=dict(max_keep_ckpts=3))

# EfficientNet's last 1x1 conv (backbone.layers.6, 1280 channels) is built
# but not among out_indices, so it gets no gradient: DDP must allow that.
find_unused_parameters = True
