# ResNet-18 on Tiny-ImageNet without FRSKD. As the FRSKD authors did, the
# images are used at 32x32 with the CIFAR variant of ResNet-18; SGD lr 0.1,
# batch 128, 200 epochs with steps at 100 and 150.
_base_ = [
    'mmpretrain::_base_/models/resnet18_cifar.py',
    '../_base_/datasets/tinyimagenet_bs128.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

# MMPretrain's ResNets zero-initialise the last BN of every residual block
# by default; the FRSKD authors' ResNets (their
# classification/models/resnet.py) do not.
model = dict(
    backbone=dict(zero_init_residual=False), head=dict(num_classes=200))

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(max_keep_ckpts=3, save_best='auto'))
