# FRSKD on CIFAR-100 with ResNet-18 and CutMix (alpha 1.0).
# Exactly configs/baseline/resnet18_cifar100_cutmix.py plus the self-teacher
# (BiFPN-style, width 2, depth 2) on every backbone stage, the FRSKD head
# and FRSKDHook:
# alpha 2.0 (soft-label distillation), beta 100.0 (attention transfer), T 4.
_base_ = [
    '../baseline/resnet18_cifar100_cutmix.py',
    '../_base_/frskd_runtime.py',
]

model = dict(
    backbone=dict(out_indices=(0, 1, 2, 3)),
    neck=dict(
        _delete_=True,
        type='FRSKDNeck',
        in_channels=[64, 128, 256, 512],
        width=2,
        depth=2,
        num_classes=100),
    head=dict(
        _delete_=True,
        type='FRSKDClsHead',
        init_cfg=None,  # the baseline's classifier init
        num_classes=100,
        in_channels=512,
        alpha=2.0,
        beta=100.0,
        temperature=4.0,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)))
