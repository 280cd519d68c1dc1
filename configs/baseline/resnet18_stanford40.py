# ResNet-18 (ImageNet variant, 224x224 crops) without FRSKD on
# Stanford-40 (40 actions).
# Trained from scratch with the FRSKD authors' recipe: SGD lr 0.1, momentum
# 0.9, weight decay 1e-4, batch 32, 200 epochs with steps at 100 and 150.
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../_base_/datasets/fine_grained_bs32.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

data_root = 'data/Stanford40'

# MMPretrain's ResNets zero-initialise the last BN of every residual block
# by default; the FRSKD authors' ResNets (their
# classification/models/resnet.py) do not.
model = dict(
    backbone=dict(zero_init_residual=False),
    head=dict(num_classes=40, topk=(1, )))
data_preprocessor = dict(num_classes=40)

train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

# lr 0.1 is the authors' value for batch 32.
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(max_keep_ckpts=3, save_best='auto'))
