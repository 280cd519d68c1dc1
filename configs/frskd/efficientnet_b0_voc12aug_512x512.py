# FRSKD on Pascal VOC 2012 + SBD aug with EfficientNet-B0 + UPerHead: our
# extension, not the paper's setting (the paper's VOC experiment,
# EfficientDet-d0 on VOC2007 + VOC2012, 79.07 -> 80.55 mIoU, is
# efficientdet_d0_voc0712_512x512.py). Exactly
# configs/baseline/efficientnet_b0_voc12aug_512x512.py plus the self-teacher
# (BiFPN-style, width 2, depth 2) on the four backbone stages (refined widths
# 48/80/224/640), FRSKDSegHead wrapping the baseline's UPerHead as the student
# decoder with a light teacher decoder on the finest refined level (stride 4),
# and FRSKDHook (../_base_/frskd_seg_runtime.py: distillation off for the
# first 2/3 of training (26,667 of 40k iterations), then a sigmoid ramp-up).
# The paper's segmentation loss weights: alpha 1 (per-pixel soft-label
# distillation), beta 50 (attention transfer), T 1. Only
# decode_head.student.* (with the backbone) is kept for deployment:
# tools/export_student.py writes the plain UPerHead model.
_base_ = [
    '../baseline/efficientnet_b0_voc12aug_512x512.py',
    '../_base_/frskd_seg_runtime.py',
]

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    neck=dict(
        type='FRSKDNeck',
        in_channels=[24, 40, 112, 320],
        width=2,
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
            in_channels=48, in_index=0, channels=256, norm_cfg=norm_cfg),
        alpha=1.0,
        beta=50.0,
        temperature=1.0,
        feature_loss=dict(type='AttentionTransferLoss'),
        teacher_loss_weight=1.0))
