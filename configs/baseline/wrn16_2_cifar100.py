# WRN-16-2 on CIFAR-100 without FRSKD; same recipe as resnet18_cifar100.
_base_ = [
    '../_base_/datasets/cifar100_bs128.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    # Stage channels 32/64/128; the FRSKD authors' block (no BN before a
    # block's first ReLU, see WideResNetCIFAR).
    backbone=dict(
        type='WideResNetCIFAR',
        depth=16,
        widen_factor=2,
        out_indices=(2, ),
        block='authors'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ))

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(max_keep_ckpts=3, save_best='auto'))
