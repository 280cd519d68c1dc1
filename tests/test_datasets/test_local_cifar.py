import numpy as np
import pytest

from frskd_mm.datasets import LocalCIFAR100


def test_reads_the_official_pickle_format(cifar100_root):
    train = LocalCIFAR100(data_root=cifar100_root, split='train',
                          pipeline=[])
    test = LocalCIFAR100(data_root=cifar100_root, split='test', pipeline=[])
    assert len(train) == 32 and len(test) == 16
    item = train.get_data_info(3)
    assert item['img'].shape == (32, 32, 3) and item['img'].dtype == np.uint8
    assert item['gt_label'] == 3
    assert len(train.CLASSES) == 100


def test_missing_folder_says_what_to_put_where(tmp_path):
    with pytest.raises(FileNotFoundError, match='cifar-100-python'):
        LocalCIFAR100(data_root=str(tmp_path / 'nowhere'), split='train')


def test_never_downloads(tmp_path):
    with pytest.raises(ValueError, match='never downloads'):
        LocalCIFAR100(data_root=str(tmp_path), download=True)
