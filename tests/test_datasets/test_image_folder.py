import cv2
import numpy as np
import pytest

from frskd_mm.datasets import ImageFolder


def test_loads_class_folders(tmp_path):
    for cls in ('a', 'b'):
        (tmp_path / 'train' / cls).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(tmp_path / 'train' / cls / f'{i}.png'),
                        np.full((8, 8, 3), i * 40, np.uint8))
    ds = ImageFolder(data_root=str(tmp_path), data_prefix='train',
                     pipeline=[dict(type='LoadImageFromFile')])
    assert len(ds) == 6 and ds.CLASSES == ('a', 'b')
    assert ds[4]['img'].shape == (8, 8, 3) and ds[4]['gt_label'] == 1


def test_absent_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='one sub-folder per class'):
        ImageFolder(data_root=str(tmp_path), data_prefix='train')
