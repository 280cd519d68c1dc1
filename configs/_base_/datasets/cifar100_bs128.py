# CIFAR-100 at batch 128 from a local copy (never downloaded): MMPretrain's
# CIFAR-100 base with LocalCIFAR100, which reads the official pickles from
# data/cifar100/cifar-100-python/{train,test,meta} as MMPretrain's CIFAR100
# does, without its md5 check (subsets and fixtures load) and never
# downloading. Missing files are reported by the tools before the run. The
# augmentation of the base (4-pixel-padded random crop 32, horizontal flip)
# is the FRSKD authors' one. The normalisation is theirs too, not the base's
# CIFAR-100 statistics: their classification/dataset.py normalises CIFAR-100
# with CIFAR-10 statistics, mean (0.4914, 0.4822, 0.4465) and std (0.2023,
# 0.1994, 0.2010) of [0, 1] images, here in 0-255 units.
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

data_preprocessor = dict(
    mean=[0.4914 * 255, 0.4822 * 255, 0.4465 * 255],
    std=[0.2023 * 255, 0.1994 * 255, 0.2010 * 255])

dataset_type = 'LocalCIFAR100'
data_root = 'data/cifar100'

train_dataloader = dict(
    batch_size=128, dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    batch_size=128, dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
