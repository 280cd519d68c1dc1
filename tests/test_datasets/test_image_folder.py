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


def test_hidden_folders_and_files_are_not_data(tmp_path):
    for cls in ('0', '1', '2'):
        (tmp_path / 'test' / cls).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / 'test' / cls / 'a.png'),
                    np.zeros((8, 8, 3), np.uint8))
    # What notebooks, macOS and version control leave behind.
    (tmp_path / 'test' / '.ipynb_checkpoints').mkdir()
    (tmp_path / 'test' / '.git' / 'x').mkdir(parents=True)
    (tmp_path / 'test' / '.DS_Store').write_bytes(b'\0')
    (tmp_path / 'test' / '1' / '._a.png').write_bytes(b'not an image')
    (tmp_path / 'test' / '2' / '.ipynb_checkpoints').mkdir()
    cv2.imwrite(str(tmp_path / 'test' / '2' / '.ipynb_checkpoints' / 'b.png'),
                np.zeros((8, 8, 3), np.uint8))
    ds = ImageFolder(data_root=str(tmp_path), data_prefix='test',
                     pipeline=[dict(type='LoadImageFromFile')])
    assert ds.CLASSES == ('0', '1', '2')
    assert [(info['img_path'][len(str(tmp_path)) + 1:], info['gt_label'])
            for info in ds] == [('test/0/a.png', 0), ('test/1/a.png', 1),
                                ('test/2/a.png', 2)]


def test_class_count_that_disagrees_with_the_metainfo(tmp_path):
    for cls in ('a', 'b'):
        (tmp_path / cls).mkdir()
        cv2.imwrite(str(tmp_path / cls / '0.png'), np.zeros((8, 8, 3),
                                                            np.uint8))
    with pytest.raises(ValueError, match=r"has 2 class folders \['a', 'b'\] "
                       r'but the dataset sets 3 classes'):
        ImageFolder(data_root=str(tmp_path),
                    metainfo=dict(classes=('a', 'b', 'c')))
