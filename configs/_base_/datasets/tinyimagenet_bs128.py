# Tiny-ImageNet (200 classes) at 32x32 and batch 128, as the FRSKD authors
# trained it. Expected layout (one folder per class, the validation images
# sorted into class folders as the authors did):
#   data/tiny-imagenet-200/train/<wnid>/<image>.JPEG
#   data/tiny-imagenet-200/valid/<wnid>/<image>.JPEG
# (MMPretrain's CustomDataset; the tools check the layout before the run.)
custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

dataset_type = 'CustomDataset'
data_root = 'data/tiny-imagenet-200'

data_preprocessor = dict(
    num_classes=200,
    # RGB normalisation of Tiny-ImageNet (the authors' values) x 255.
    mean=[0.4802 * 255, 0.4481 * 255, 0.3975 * 255],
    std=[0.2770 * 255, 0.2691 * 255, 0.2821 * 255],
    # Images are loaded as BGR.
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(32, 32)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='valid',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
