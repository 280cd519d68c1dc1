# Demo, detection FRSKD: baseline_det_digits.py plus the self-teacher on the
# FPN's three levels (FRSKDNeck wrapping the baseline's FPN: two
# SegBiFPNLayer layers, width 1, both with their bottom-up path), a copy of
# the baseline's RetinaHead as the teacher head on the refined levels, and
# FRSKDHook with the authors' dense-prediction recipe scaled to this
# schedule: distillation off for the first 2/3 of the iterations, then the
# sigmoid ramp-up. alpha 1, beta 50, T 1 as in configs/frskd/retinanet_*.
# Data, schedule and the deployed model are the baseline's.
_base_ = ['./baseline_det_digits.py', '../_base_/frskd_det_runtime.py']

model = dict(
    neck=dict(
        _delete_=True,
        type='FRSKDNeck',
        # The baseline's FPN, unchanged.
        neck=_base_.model.neck,
        in_channels=[32] * 3,
        width=1,
        num_layers=2,
        layer_cfg=dict(type='SegBiFPNLayer')),
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
