# Fine-grained / small image-folder datasets at 224x224 and batch 32 (CUB-200,
# MIT-67, Stanford-40, Stanford Dogs in the FRSKD paper). Each config sets
# ``data_root`` of the three dataloaders and ``data_preprocessor.num_classes``.
# Expected layout, one folder per class:
#   <data_root>/train/<class>/<image>
#   <data_root>/valid/<class>/<image>
# MMPretrain's CustomDataset makes every sub-folder a class: the tools stop
# before the run if a hidden folder (.ipynb_checkpoints) is among them.
custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

dataset_type = 'CustomDataset'

data_preprocessor = dict(
    # ImageNet RGB normalisation.
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    # Images are loaded as BGR.
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    dataset=dict(
        type=dataset_type, data_prefix='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    dataset=dict(
        type=dataset_type, data_prefix='valid', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
