# CIFAR-100 at batch 128 from a local copy (never downloaded): MMPretrain's
# CIFAR-100 base with LocalCIFAR100, which reads the official pickles from
# data/cifar100/cifar-100-python/{train,test,meta} as MMPretrain's CIFAR100
# does, without its md5 check (subsets and fixtures load) and never
# downloading. Missing files are reported by the tools before the run. The
# normalisation and the augmentation (4-pixel-padded random crop 32,
# horizontal flip) of the base are the FRSKD authors' ones.
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

dataset_type = 'LocalCIFAR100'
data_root = 'data/cifar100'

train_dataloader = dict(
    batch_size=128, dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    batch_size=128, dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
