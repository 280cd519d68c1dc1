# WRN-16-2 on CIFAR-100 without FRSKD; same recipe as resnet18_cifar100.
_base_ = [
    '../_base_/datasets/cifar100_bs128.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

# Initialisation as the authors' (their classification/models/wrn.py):
# Kaiming normal (fan-out) convs and unit BNs are WideResNetCIFAR's
# default; their classifier fc keeps nn.Linear's PyTorch weight init
# (Kaiming uniform, a = sqrt(5), fan-in) and zeroes its bias, instead of
# MMPretrain's N(0, 0.01). Only fc (override): other linear layers of a
# head (SLA's joint classifiers) keep PyTorch's default, as theirs.
wrn_fc_init = dict(
    type='Kaiming',
    a=5**0.5,
    mode='fan_in',
    nonlinearity='leaky_relu',
    distribution='uniform',
    bias=0,
    override=dict(name='fc'))
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
        init_cfg=wrn_fc_init))

# The last epoch's checkpoint is the result (the validation split is the
# test split here): no best checkpoint is picked on it. To keep one, add
# --cfg-options default_hooks.checkpoint.save_best=auto; its accuracy is
# then best-on-test, not a held-out estimate.
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(max_keep_ckpts=3))
