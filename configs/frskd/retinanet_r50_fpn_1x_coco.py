# FRSKD on RetinaNet ResNet-50 FPN, COCO 2017, 1x schedule: our extension
# (the paper has no detection experiment; docs/detection.md gives the
# design). Exactly configs/baseline/retinanet_r50_fpn_1x_coco.py plus:
# - FRSKDNeck wrapping the baseline's FPN (the student's neck, deployed
#   unchanged; in eval mode only it runs): the self-teacher refines the
#   FPN's five 256-channel levels P3-P7 with two layers of the authors'
#   segmentation teacher (SegBiFPNLayer, width 1), both with their
#   bottom-up path since the teacher head reads every level; SyncBN, as
#   the per-GPU batch is 2 (MMEngine makes it BN in one process);
# - FRSKDDenseHead wrapping the baseline's RetinaHead as the student, with
#   a copy of it as the teacher head on the refined levels
#   (loss_teacher_cls, loss_teacher_bbox), the per-prior binary KL of the
#   class scores weighted by the teacher's score (loss_kd) and attention
#   transfer on every FPN level (loss_att); alpha 1, beta 50, T 1, the
#   authors' dense-prediction values;
# - FRSKDHook (../_base_/frskd_det_runtime.py: distillation off for the
#   first 2/3 of training, then the sigmoid ramp).
# Only the student (backbone, FPN, RetinaHead) is deployed:
# tools/export_student.py writes the plain RetinaNet config and checkpoint.
_base_ = [
    '../baseline/retinanet_r50_fpn_1x_coco.py',
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
        # The baseline's RetinaHead, unchanged; the teacher is its copy.
        student=_base_.model.bbox_head,
        alpha=1.0,
        beta=50.0,
        temperature=1.0,
        feature_loss=dict(type='AttentionTransferLoss'),
        teacher_loss_weight=1.0))
