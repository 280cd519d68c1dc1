# FRSKD on ImageNet-1k with ResNet-34.
# Exactly configs/baseline/resnet34_imagenet.py plus the self-teacher
# (BiFPN-style, width 2, depth 2) on every backbone stage, the FRSKD head
# and FRSKDHook:
# alpha 1.0 (soft-label distillation), beta 200.0 (attention transfer), T 4.
_base_ = [
    '../baseline/resnet34_imagenet.py',
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
        num_classes=1000),
    head=dict(
        _delete_=True,
        type='FRSKDClsHead',
        init_cfg=None,  # the baseline's classifier init
        num_classes=1000,
        in_channels=512,
        alpha=1.0,
        beta=200.0,
        temperature=4.0,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
