# README demo, baseline: configs/baseline/wrn16_2_cifar100.py's model on
# scikit-learn's handwritten digits (10 classes), written by
# tools/dataset_converters/digits_to_folder.py as 32x32 PNGs in
# data/digits/{train,test}/<digit>/ (1,442 train / 355 test images), with a
# short CPU schedule. Mean/std are those of the training images.
_base_ = ['../baseline/wrn16_2_cifar100.py']

# The standard pre-activation block (the backbone's default), not the
# authors' block of the CIFAR config; the classifier's initialisation is the
# CIFAR config's (the authors').
model = dict(backbone=dict(block='preact'), head=dict(num_classes=10))

data_root = 'data/digits'
data_preprocessor = dict(
    num_classes=10, mean=[77.8] * 3, std=[82.5] * 3, to_rgb=False)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=2),  # no flips for digits
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    _delete_=True,
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

max_epochs = 8
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    _delete_=True,
    type='CosineAnnealingLR',
    by_epoch=True,
    T_max=max_epochs,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=1, max_keep_ckpts=1, save_best='auto'))
randomness = dict(seed=0)
