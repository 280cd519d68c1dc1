# FRSKD on RetinaNet ResNet-50 FPN, Pascal VOC 2007 + 2012: our extension
# (docs/detection.md). Exactly configs/baseline/retinanet_r50_fpn_1x_voc0712
# .py plus the self-teacher, head and schedule of
# configs/frskd/retinanet_r50_fpn_1x_coco.py: FRSKDNeck around the FPN (two
# SegBiFPNLayer layers, width 1, SyncBN), FRSKDDenseHead around the
# RetinaHead (20 classes) with its copy as the teacher head, alpha 1,
# beta 50, T 1, and FRSKDHook off for the first 2/3 of training (2.7 of
# the 4 epochs; the lr drops after epoch 3), then the sigmoid ramp. Only
# the student is deployed.
_base_ = [
    '../baseline/retinanet_r50_fpn_1x_voc0712.py',
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
        # The baseline's RetinaHead (20 classes), unchanged.
        student=_base_.model.bbox_head,
        alpha=1.0,
        beta=50.0,
        temperature=1.0,
        feature_loss=dict(type='AttentionTransferLoss'),
        teacher_loss_weight=1.0))
