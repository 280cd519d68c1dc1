# FRSKD on Cityscapes (512x1024 crops) with DeepLabV3+ ResNet-50-D8: our
# extension, not in the paper (its segmentation setting is VOC,
# efficientdet_d0/d1_voc0712_512x512.py). Exactly
# configs/baseline/deeplabv3plus_r50_d8_cityscapes_512x1024.py plus the
# self-teacher (BiFPN-style, depth 2) on the four stages of the dilated ResNet
# (strides 4/8/8/8; the neck resizes to each level's own size), FRSKDSegHead
# wrapping the baseline's DepthwiseSeparableASPPHead as the student decoder
# with a light teacher decoder on the finest refined level (stride 4), and
# FRSKDHook (../_base_/frskd_seg_runtime.py: distillation off for the first 2/3
# of training (26,667 of 40k iterations), then a sigmoid ramp-up). The
# auxiliary FCNHead is kept: it reads the backbone's stage 3 as before. The
# paper's segmentation loss weights: alpha 1, beta 50, T 1. Width 1 (not the
# classification configs' 2): ResNet-50's stages already have 256..2048
# channels, and width 2 would run 4096-channel convolutions at stride 8.
_base_ = [
    '../baseline/deeplabv3plus_r50_d8_cityscapes_512x1024.py',
    '../_base_/frskd_seg_runtime.py',
]

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    neck=dict(
        type='FRSKDNeck',
        in_channels=[256, 512, 1024, 2048],
        width=1,
        depth=2,
        # The teacher decoder reads only T_1: the last layer is top-down
        # only, as the authors' segmentation teacher (no idle parameters).
        last_layer_top_down_only=True,
        norm_cfg=norm_cfg),
    decode_head=dict(
        _delete_=True,
        type='FRSKDSegHead',
        # The baseline's decode head, unchanged.
        student=_base_.model.decode_head,
        teacher=dict(
            in_channels=256, in_index=0, channels=256, norm_cfg=norm_cfg),
        alpha=1.0,
        beta=50.0,
        temperature=1.0,
        feature_loss=dict(type='AttentionTransferLoss'),
        teacher_loss_weight=1.0))
