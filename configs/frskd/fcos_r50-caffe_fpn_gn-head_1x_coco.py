# FRSKD on FCOS ResNet-50 (caffe) FPN, GN head, COCO 2017, 1x schedule: our
# extension, the anchor-free twin of retinanet_r50_fpn_1x_coco.py (the same
# self-teacher, losses, weights and schedule; docs/detection.md). Exactly
# configs/baseline/fcos_r50-caffe_fpn_gn-head_1x_coco.py plus:
# - FRSKDNeck wrapping the baseline's FPN: two SegBiFPNLayer layers (width 1,
#   with their bottom-up paths, SyncBN) refine its five 256-channel levels;
# - FRSKDDenseHead wrapping the baseline's FCOSHead (GN) as the student, a
#   copy of it as the teacher head on the refined levels (loss_teacher_cls,
#   loss_teacher_bbox, loss_teacher_centerness), the per-point binary KL of
#   the class scores weighted by the teacher's score (loss_kd) and attention
#   transfer on every FPN level (loss_att); alpha 1, beta 50, T 1;
# - FRSKDHook (../_base_/frskd_det_runtime.py: off for the first 2/3 of
#   training, then the sigmoid ramp).
# Only the student (backbone, FPN, FCOSHead) is deployed.
_base_ = [
    '../baseline/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    '../_base_/frskd_det_runtime.py',
]

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    neck=dict(
        _delete_=True,
        type='FRSKDNeck',
        # The baseline's FPN, unchanged.
        neck=_base_.model.neck,
        in_channels=[256] * 5,
        width=1,
        num_layers=2,
        layer_cfg=dict(type='SegBiFPNLayer'),
        norm_cfg=norm_cfg),
    bbox_head=dict(
        _delete_=True,
        type='FRSKDDenseHead',
        # The baseline's FCOSHead, unchanged; the teacher is its copy.
        student=_base_.model.bbox_head,
        alpha=1.0,
        beta=50.0,
        temperature=1.0,
        feature_loss=dict(type='AttentionTransferLoss'),
        teacher_loss_weight=1.0))
