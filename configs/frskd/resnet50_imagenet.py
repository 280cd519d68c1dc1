# FRSKD on ImageNet-1k with ResNet-50: the authors' resnet50 with their
# BiFPNc self-teacher (not in the paper's tables; the paper's ImageNet
# weights of ResNet-18/34).
# Exactly configs/baseline/resnet50_imagenet.py plus the self-teacher
# (BiFPN-style, width 2, depth 2) on every backbone stage, the FRSKD head
# and FRSKDHook:
# alpha 1.0 (soft-label distillation), beta 200.0 (attention transfer), T 4.
# Cost: the bottleneck stages have 256/512/1024/2048 channels, so the
# width-2 self-teacher has 512..4096 channels per level: about 104 M
# parameters in training on top of ResNet-50's 25.6 M (see
# docs/reproducing_the_paper.md for the measured parameters and FLOPs).
# The deployed student is the plain ResNet-50.
_base_ = [
    '../baseline/resnet50_imagenet.py',
    '../_base_/frskd_runtime.py',
]

model = dict(
    backbone=dict(out_indices=(0, 1, 2, 3)),
    neck=dict(
        _delete_=True,
        type='FRSKDNeck',
        in_channels=[256, 512, 1024, 2048],
        width=2,
        depth=2,
        num_classes=1000),
    head=dict(
        _delete_=True,
        type='FRSKDClsHead',
        init_cfg=None,  # the baseline's classifier init
        num_classes=1000,
        in_channels=2048,
        alpha=1.0,
        beta=200.0,
        temperature=4.0,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
