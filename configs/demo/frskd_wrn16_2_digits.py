# README demo, FRSKD: baseline_wrn16_2_digits.py plus the FRSKD parts of
# configs/frskd/wrn16_2_cifar100.py (alpha 2, beta 100, T 4, w 2) for 10
# classes; data and schedule are the baseline's.
_base_ = ['./baseline_wrn16_2_digits.py', '../_base_/frskd_runtime.py']

model = dict(
    backbone=dict(out_indices=(0, 1, 2)),
    neck=dict(
        _delete_=True,
        type='FRSKDNeck',
        in_channels=[32, 64, 128],
        width=2,
        depth=2,
        num_classes=10),
    head=dict(
        _delete_=True,
        type='FRSKDClsHead',
        init_cfg=_base_.wrn_fc_init,  # the baseline's classifier init
        num_classes=10,
        in_channels=128,
        alpha=2.0,
        beta=100.0,
        temperature=4.0,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
