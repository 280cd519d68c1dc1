# The paper's self-teacher ablation on CIFAR-100 with ResNet-18: FRSKD with
# the authors' uniform-width BiFPN (MingiJi/FRSKD classification/models/
# bifpn.py, `--bifpn BiFPN`, their default num_channels 256) instead of
# BiFPNc, whose widths grow with the stage (2 x 64/128/256/512, ours by
# default: resnet18_cifar100.py). Every level of the self-teacher has 256
# channels; its resampling has no 1x1 convs (nearest 2x up, 3x3/2 max
# pooling down: the widths already agree), as theirs. Everything else is
# resnet18_cifar100.py: alpha 2, beta 100, T 4, 200 epochs. The deployed
# student is the same plain ResNet-18 (the baseline twin is
# configs/baseline/resnet18_cifar100.py, by inheritance).
_base_ = ['./resnet18_cifar100.py']

model = dict(
    neck=dict(
        _delete_=True,
        type='FRSKDNeck',
        in_channels=[64, 128, 256, 512],
        out_channels=256,
        layer_cfg=dict(type='BiFPNLayer', depth=2, resample_conv=False),
        num_classes=100))
