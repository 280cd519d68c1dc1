# ResNet-18 (CIFAR variant: 3x3 stem, no max-pool) on CIFAR-100 without FRSKD.
# The authors' recipe: SGD lr 0.1, momentum 0.9, weight decay 1e-4, batch 128,
# 200 epochs with the lr divided by 10 at epochs 100 and 150.
_base_ = [
    'mmpretrain::_base_/models/resnet18_cifar.py',
    '../_base_/datasets/cifar100_bs128.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

# MMPretrain's ResNets zero-initialise the last BN of every residual block
# by default; the FRSKD authors' ResNets (their
# classification/models/resnet.py) do not.
model = dict(
    backbone=dict(zero_init_residual=False), head=dict(num_classes=100))

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(max_keep_ckpts=3, save_best='auto'))
