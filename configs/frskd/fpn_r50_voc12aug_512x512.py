# FRSKD on Pascal VOC 2012 + SBD aug with Semantic FPN ResNet-50: our
# extension (not in the paper): FRSKD on top of a model that has its own
# neck. Exactly configs/baseline/fpn_r50_voc12aug_512x512.py plus:
# - FRSKDNeck wrapping the baseline's FPN (the student's neck, deployed
#   unchanged; in eval mode only it runs): the self-teacher refines the
#   FPN's four 256-channel levels. Its layers are the authors'
#   segmentation teacher layers (SegBiFPNLayer, 2 layers, the last one
#   top-down only), as on their EfficientDet's BiFPN outputs in
#   efficientdet_d0_voc0712_512x512.py: the FPN's levels all have one
#   width, which is what that layer fuses (the classification BiFPNLayer
#   is meant for backbone stages of growing widths). Width 1 (256
#   channels): width 2 would run 512-channel fusions at stride 4;
# - FRSKDSegHead wrapping the baseline's FPNHead as the student decoder,
#   with the teacher decoder on the finest refined level (stride 4);
#   attention transfer between the FPN's levels and the refined ones;
# - FRSKDHook (../_base_/frskd_seg_runtime.py: distillation off for the
#   first 2/3 of training (26,667 of 40k iterations), then a sigmoid
#   ramp-up).
# The paper's segmentation loss weights: alpha 1, beta 50, T 1. Only the
# student (backbone, FPN, FPNHead) is kept for deployment:
# tools/export_student.py writes the plain Semantic FPN model.
_base_ = [
    '../baseline/fpn_r50_voc12aug_512x512.py',
    '../_base_/frskd_seg_runtime.py',
]

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    neck=dict(
        _delete_=True,
        type='FRSKDNeck',
        # The baseline's neck, unchanged.
        neck=_base_.model.neck,
        in_channels=[256] * 4,
        width=1,
        num_layers=2,
        layer_cfg=dict(type='SegBiFPNLayer'),
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
