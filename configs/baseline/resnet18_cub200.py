# ResNet-18 (ImageNet variant, 224x224 crops) without FRSKD on
# CUB-200-2011 (200 bird species).
# Trained from scratch with the FRSKD authors' recipe: SGD lr 0.1, momentum
# 0.9, weight decay 1e-4, batch 32, 200 epochs with steps at 100 and 150.
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../_base_/datasets/fine_grained_bs32.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

data_root = 'data/CUB_200_2011'

# Initialisation as the authors' (their classification/models/resnet.py):
# Kaiming normal (fan-out) convs and unit BNs are MMPretrain's too;
# MMPretrain's zero-initialised last BN of each residual block is off
# (zero_init_residual=False), and the classifier keeps nn.Linear's PyTorch
# default init (weight and bias uniform in +-1/sqrt(fan_in)): head
# init_cfg=None instead of MMPretrain's N(0, 0.01).
model = dict(
    backbone=dict(zero_init_residual=False),
    head=dict(num_classes=200, topk=(1, ), init_cfg=None))
data_preprocessor = dict(num_classes=200)

train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

# lr 0.1 is the authors' value for batch 32.
auto_scale_lr = dict(base_batch_size=32)

# The last epoch's checkpoint is the result (the validation split is the
# test split here): no best checkpoint is picked on it. To keep one, add
# --cfg-options default_hooks.checkpoint.save_best=auto; its accuracy is
# then best-on-test, not a held-out estimate.
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(max_keep_ckpts=3))
