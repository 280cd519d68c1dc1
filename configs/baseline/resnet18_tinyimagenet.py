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

# Initialisation as the authors' (their classification/models/resnet.py):
# their CIFAR ResNet sets none, so its convs keep PyTorch's default
# (Kaiming uniform, a = sqrt(5)): init_cfg=None instead of MMPretrain's
# Kaiming normal; BNs start at 1 and 0 either way, and MMPretrain's
# zero-initialised last BN of each residual block is off
# (zero_init_residual=False). Their classifier is an nn.Linear with
# PyTorch's default init (weight and bias uniform in +-1/sqrt(fan_in)):
# head init_cfg=None instead of MMPretrain's N(0, 0.01).
model = dict(
    backbone=dict(zero_init_residual=False, init_cfg=None),
    head=dict(num_classes=200, init_cfg=None))

# The last epoch's checkpoint is the result (the validation split is the
# test split here): no best checkpoint is picked on it. To keep one, add
# --cfg-options default_hooks.checkpoint.save_best=auto; its accuracy is
# then best-on-test, not a held-out estimate.
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(max_keep_ckpts=3))
