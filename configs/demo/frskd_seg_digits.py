# README demo, segmentation FRSKD: baseline_seg_digits.py plus the
# self-teacher (BiFPN-style, width 2, depth 2) on the four backbone stages
# (strides 2/4/8/8; refined widths 32/64/128/256), FRSKDSegHead wrapping the
# baseline's FCNHead as the student decoder with a light teacher decoder on
# the finest refined level, and FRSKDHook with the authors' segmentation
# recipe scaled to this schedule: distillation off for the first 2/3 of the
# iterations, then the sigmoid ramp-up. alpha 1, beta 50, T 1 as in the
# paper. Data, schedule and the deployed model are the baseline's.
_base_ = ['./baseline_seg_digits.py', '../_base_/frskd_seg_runtime.py']

max_iters = _base_.max_iters  # the baseline's schedule
model = dict(
    neck=dict(
        type='FRSKDNeck',
        in_channels=[16, 32, 64, 128],
        width=2,
        depth=2,
        # The teacher decoder reads only T_1: the last layer is top-down
        # only, as the authors' segmentation teacher (no idle parameters).
        last_layer_top_down_only=True,
        norm_cfg=_base_.norm_cfg),
    decode_head=dict(
        _delete_=True,
        type='FRSKDSegHead',
        # The baseline's decode head, unchanged.
        student=_base_.model.decode_head,
        teacher=dict(in_channels=32, in_index=0, channels=64),
        alpha=1.0,
        beta=50.0,
        temperature=1.0,
        feature_loss=dict(type='AttentionTransferLoss'),
        teacher_loss_weight=1.0))
custom_hooks = [
    dict(
        type='FRSKDHook',
        warmup=max_iters * 2 // 3,
        ramp=max_iters - max_iters * 2 // 3,
        ramp_type='sigmoid')
]
