import numpy as np
import pytest
from mmpretrain.datasets import CIFAR100

from frskd_mm.datasets import LocalCIFAR100
from frskd_mm.utils.dataset_checks import check_dataset_configs


def test_reads_the_official_pickle_format(cifar100_root):
    train = LocalCIFAR100(data_root=cifar100_root, split='train', pipeline=[])
    test = LocalCIFAR100(data_root=cifar100_root, split='test', pipeline=[])
    assert len(train) == 32 and len(test) == 16
    item = train.get_data_info(3)
    assert item['img'].shape == (32, 32, 3) and item['img'].dtype == np.uint8
    assert item['gt_label'] == 3
    assert len(train.CLASSES) == 100


def test_why_not_upstream_cifar100(cifar100_root):
    """The reason LocalCIFAR100 exists: MMPretrain's CIFAR100 checks the
    md5 of the files, which a subset or fixture in the official format
    fails (and its default, download=True, would go to the network)."""
    with pytest.raises((AssertionError, RuntimeError)):
        CIFAR100(data_root=cifar100_root, split='test', download=False)


def test_missing_files_are_named_before_the_build(tmp_path):
    cfg = dict(
        train_dataloader=dict(
            dataset=dict(
                type='LocalCIFAR100', data_root=str(tmp_path / 'nowhere'))))
    with pytest.raises(
            FileNotFoundError,
            match=r"train_dataloader\.dataset\.data_root: "
            r"LocalCIFAR100 files \['train', 'test', 'meta'\] "
            r'not found in .*cifar-100-python.*cifar-100-python'
            r'\.tar\.gz.*--cfg-options '
            r'train_dataloader\.dataset\.data_root=DIR'):
        check_dataset_configs(cfg)


def test_never_downloads(tmp_path):
    with pytest.raises(ValueError, match='never downloads'):
        LocalCIFAR100(data_root=str(tmp_path), download=True)
