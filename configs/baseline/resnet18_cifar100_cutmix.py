# ResNet-18 on CIFAR-100 trained with CutMix (alpha 1.0), without FRSKD.
_base_ = ['./resnet18_cifar100.py']

model = dict(
    head=dict(
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(type='CutMix', alpha=1.0)))
