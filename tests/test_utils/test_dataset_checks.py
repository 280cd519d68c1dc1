"""check_dataset_configs: missing or misleading local data stops a run
before any dataset is built, naming the config key and the fix."""
import copy
import os.path as osp

import pytest
from conftest import write_image_folder, write_voc0712
from mmengine.config import Config
from mmpretrain.datasets import CustomDataset

from frskd_mm.utils.dataset_checks import (check_dataset_configs,
                                           dataset_configs)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VOC_CONFIG = osp.join(ROOT, 'configs', 'baseline',
                      'deeplabv3plus_r50_d8_voc12aug_512x512.py')


def raises(exception, *pattern):
    """``pytest.raises`` whose message must match the joined regex parts."""
    return pytest.raises(exception, match=''.join(pattern))


def _folder_cfg(root, **dataset):
    """train/val/test of a CustomDataset image folder, as the demo's."""
    cfg = {}
    for loader, split in (('train_dataloader', 'train'),
                          ('val_dataloader', 'test'), ('test_dataloader',
                                                       'test')):
        cfg[loader] = dict(
            dataset=dict(
                dict(
                    type='CustomDataset',
                    data_root=str(root),
                    data_prefix=split,
                    pipeline=[]), **dataset))
    return cfg


@pytest.fixture
def folder(tmp_path):
    write_image_folder(
        tmp_path, splits=(('train', 1), ('test', 1)), num_classes=3, size=8)
    return tmp_path


def test_a_clean_image_folder_passes(folder):
    check_dataset_configs(_folder_cfg(folder))
    check_dataset_configs(Config(_folder_cfg(folder)))


def test_wrong_data_root(tmp_path):
    cfg = _folder_cfg(tmp_path / 'not_here')
    with raises(
            FileNotFoundError,
            r"^train_dataloader\.dataset\.data_root: folder '.*not_here' ",
            r'does not exist\. Expected one sub-folder per class.*',
            r'--cfg-options train_dataloader\.dataset\.data_root=DIR\.$'):
        check_dataset_configs(cfg)


def test_missing_split_folder(folder):
    cfg = _folder_cfg(folder)
    cfg['val_dataloader']['dataset']['data_prefix'] = 'valid'
    with raises(
            FileNotFoundError,
            r"^val_dataloader\.dataset: dataset folder '.*/valid' ",
            r'\(data_root \+ data_prefix\) does not exist\. Expected one ',
            r'sub-folder per class.*--cfg-options ',
            r'val_dataloader\.dataset\.data_root=DIR \(and ',
            r'val_dataloader\.dataset\.data_prefix=SPLIT\)'):
        check_dataset_configs(cfg)


def test_only_the_loaders_a_run_builds(folder):
    """tools/test.py builds only the test set: missing training data must
    not stop it."""
    cfg = _folder_cfg(folder)
    cfg['train_dataloader']['dataset']['data_prefix'] = 'absent'
    check_dataset_configs(cfg, loaders=('test_dataloader', ))
    check_dataset_configs(cfg, loaders=('val_dataloader', 'test_dataloader'))
    with raises(FileNotFoundError, r'^train_dataloader\.dataset: '):
        check_dataset_configs(cfg, loaders=('train_dataloader', ))


def test_folder_without_class_folders(tmp_path):
    (tmp_path / 'train').mkdir()
    cfg = dict(
        train_dataloader=dict(
            dataset=dict(
                type='CustomDataset',
                data_root=str(tmp_path),
                data_prefix='train')))
    with raises(FileNotFoundError,
                r'^train_dataloader\.dataset: .* has no class sub-folder'):
        check_dataset_configs(cfg)


def test_upstream_makes_a_hidden_folder_a_class(folder):
    """Why the check exists: MMPretrain's CustomDataset lists every
    sub-folder as a class, hidden ones included."""
    (folder / 'test' / '.ipynb_checkpoints').mkdir()
    ds = CustomDataset(data_root=str(folder), data_prefix='test')
    assert ds.CLASSES == ('.ipynb_checkpoints', '0', '1', '2')


def test_hidden_class_folder(folder):
    (folder / 'test' / '.ipynb_checkpoints').mkdir()
    with raises(ValueError,
                r"^val_dataloader\.dataset: '.*test' \(data_root \+ ",
                r'data_prefix\) has hidden folder\(s\) ',
                r"\['\.ipynb_checkpoints'\] beside its class folders\. ",
                r'.*makes every sub-folder a class.*Delete or move them ',
                r'\(e\.g\. rm -r .*test/\.ipynb_checkpoints\)'):
        check_dataset_configs(_folder_cfg(folder))


def test_hidden_images_inside_class_folders(folder):
    (folder / 'train' / '1' / '._0.png').write_bytes(b'AppleDouble')
    with raises(ValueError,
                r'^train_dataloader\.dataset: hidden folder\(s\) or ',
                r"file\(s\) with images under '.*train': ",
                r"'.*train/1/\._0\.png'\. .*Delete or move them"):
        check_dataset_configs(_folder_cfg(folder))
    (folder / 'train' / '1' / '._0.png').unlink()
    nested = folder / 'train' / '2' / '.ipynb_checkpoints'
    nested.mkdir()
    (nested / '0-checkpoint.png').write_bytes(b'')
    with raises(ValueError, r"'.*train/2/\.ipynb_checkpoints'"):
        check_dataset_configs(_folder_cfg(folder))


def test_hidden_entries_without_images_are_harmless(folder):
    (folder / 'train' / '.DS_Store').write_bytes(b'\0')  # a file, no class
    (folder / 'train' / '0' / '.git').mkdir()  # no images inside
    (folder / 'train' / '0' / '.git' / 'HEAD').write_text('ref')
    (folder / 'train' / '0' / '.notes.txt').write_text('')
    check_dataset_configs(_folder_cfg(folder))


def test_missing_ann_file(folder):
    cfg = _folder_cfg(folder, ann_file='meta/train.txt')
    with raises(FileNotFoundError,
                r'^train_dataloader\.dataset\.ann_file: annotation file ',
                r"'.*meta/train\.txt' does not exist .*--cfg-options ",
                r'train_dataloader\.dataset\.ann_file=FILE\.$'):
        check_dataset_configs(cfg)


def test_class_count_that_disagrees_with_the_metainfo(folder):
    cfg = _folder_cfg(folder, metainfo=dict(classes=['a', 'b']))
    with raises(ValueError,
                r"^train_dataloader\.dataset: '.*train' has 3 class folders ",
                r"\['0', '1', '2'\] but ",
                r'train_dataloader\.dataset\.metainfo\.classes lists 2 ',
                r'classes'):
        check_dataset_configs(cfg)


def test_wrappers_are_walked_and_named(folder):
    good = dict(
        type='mmpretrain.CustomDataset',
        data_root=str(folder),
        data_prefix='train')
    bad = dict(good, data_prefix='missing')
    repeat = dict(type='RepeatDataset', times=2, dataset=bad)
    concat = dict(type='ConcatDataset', datasets=[good, repeat])
    cfg = dict(
        train_dataloader=dict(
            dataset=dict(type='DrawSeededDataset', dataset=concat)))
    assert [k for k, _ in dataset_configs(cfg)] == [
        'train_dataloader.dataset.dataset.datasets.0',
        'train_dataloader.dataset.dataset.datasets.1.dataset'
    ]
    with raises(
            FileNotFoundError,
            r'^train_dataloader\.dataset\.dataset\.datasets\.1\.dataset: ',
            r"dataset folder '.*missing'"):
        check_dataset_configs(cfg)


def test_only_local_paths_are_checked(tmp_path):
    cfg = _folder_cfg(
        tmp_path / 'not_here', backend_args=dict(backend='petrel'))
    check_dataset_configs(cfg)
    check_dataset_configs(_folder_cfg('s3://bucket/data'))
    # Unknown types are left to their own checks.
    check_dataset_configs(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='ImageNet', data_root=str(tmp_path / 'not_here')))))


def test_cifar_checked_only_when_it_cannot_download(tmp_path):

    def cfg(**kwargs):
        return dict(
            test_dataloader=dict(
                dataset=dict(data_root=str(tmp_path), split='test', **kwargs)))

    check_dataset_configs(cfg(type='CIFAR10'))  # upstream downloads
    with raises(FileNotFoundError,
                r'^test_dataloader\.dataset\.data_root: CIFAR10 files ',
                r"\['data_batch_1', .*'batches\.meta'\] not found in ",
                r"'.*cifar-10-batches-py'\. Download ",
                r'.*cifar-10-python\.tar\.gz'):
        check_dataset_configs(cfg(type='CIFAR10', download=False))
    with raises(FileNotFoundError, 'LocalCIFAR10 files'):
        check_dataset_configs(cfg(type='LocalCIFAR10'))


def test_cifar_fixture_passes(cifar100_root):
    check_dataset_configs(
        dict(
            train_dataloader=dict(
                dataset=dict(type='LocalCIFAR100', data_root=cifar100_root))))


def _voc_layout(root, aug=True):
    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                'ImageSets/Segmentation'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for split in ('train', 'val') + (('aug', ) if aug else ()):
        (root / 'ImageSets' / 'Segmentation' /
         f'{split}.txt').write_text('2007_000032\n')


@pytest.fixture(scope='module')
def voc_cfg():
    return Config.fromfile(VOC_CONFIG)


def _with_voc_root(cfg, root):
    cfg = copy.deepcopy(cfg)
    for key, ds in dataset_configs(cfg):
        assert ds.type == 'PascalVOCDataset', key  # upstream, no subclass
        ds.data_root = str(root)
    return cfg


VOC_OPTIONS = (r'--cfg-options '
               r'train_dataloader\.dataset\.datasets\.0\.data_root=DIR '
               r'train_dataloader\.dataset\.datasets\.1\.data_root=DIR '
               r'val_dataloader\.dataset\.data_root=DIR '
               r'test_dataloader\.dataset\.data_root=DIR\.$')


def test_voc_layout_passes(voc_cfg, tmp_path):
    _voc_layout(tmp_path)
    check_dataset_configs(_with_voc_root(voc_cfg, tmp_path))


def test_voc_missing_split_file(voc_cfg, tmp_path):
    _voc_layout(tmp_path, aug=False)
    with raises(FileNotFoundError,
                r'^train_dataloader\.dataset\.datasets\.1: Pascal VOC data ',
                r"not found: split file '.*ImageSets/Segmentation/aug\.txt' ",
                r'\(train_dataloader\.dataset\.datasets\.1\.ann_file\) does ',
                r'not exist\. Expected the VOC2012 layout .*SBD ',
                r'augmentation.*voc_aug\.py.*Prepare it under ',
                r'data/VOCdevkit/VOC2012 or point the config at it with ',
                VOC_OPTIONS):
        check_dataset_configs(_with_voc_root(voc_cfg, tmp_path))


def test_voc_wrong_data_root(voc_cfg, tmp_path):
    with raises(FileNotFoundError,
                r'^train_dataloader\.dataset\.datasets\.0: Pascal VOC data ',
                r"not found: data_root '.*nowhere' ",
                r'\(train_dataloader\.dataset\.datasets\.0\.data_root\) ',
                r'does not exist\. .*', VOC_OPTIONS):
        check_dataset_configs(_with_voc_root(voc_cfg, tmp_path / 'nowhere'))


def test_voc_missing_label_folder(voc_cfg, tmp_path):
    _voc_layout(tmp_path)
    (tmp_path / 'SegmentationClass').rmdir()
    with raises(FileNotFoundError,
                r'^train_dataloader\.dataset\.datasets\.0: .*label folder ',
                r"'.*SegmentationClass' ",
                r'\(train_dataloader\.dataset\.datasets\.0\.data_prefix\.',
                r'seg_map_path\) does not exist'):
        check_dataset_configs(_with_voc_root(voc_cfg, tmp_path))


def test_digit_canvas_names_the_converter(tmp_path):
    prefix = dict(img_path='img_dir/val', seg_map_path='ann_dir/val')
    cfg = dict(
        val_dataloader=dict(
            dataset=dict(
                type='DigitCanvasDataset',
                data_root=str(tmp_path),
                data_prefix=prefix)))
    with raises(FileNotFoundError,
                r'^val_dataloader\.dataset: DigitCanvasDataset folder ',
                r"'.*img_dir/val' \(val_dataloader\.dataset\.data_prefix\.",
                r'img_path under data_root\) does not exist\. Write the ',
                r'digit canvases with `python tools/dataset_converters/',
                r'digit_canvas_to_seg\.py .*--cfg-options ',
                r'val_dataloader\.dataset\.data_root=DIR\.$'):
        check_dataset_configs(cfg)


VOC0712_CONFIG = osp.join(ROOT, 'configs', 'baseline',
                          'efficientdet_d0_voc0712_512x512.py')
VOC0712_OPTIONS = VOC_OPTIONS  # the same four dataset keys
VOC0712_LAYOUT = (
    r'Expected the VOCdevkit layout \(data_root = the VOCdevkit folder\) '
    r'<data_root>/VOC2007/JPEGImages/\*\.jpg, '
    r'<data_root>/VOC2007/SegmentationClass/\*\.png and '
    r'<data_root>/VOC2007/ImageSets/Segmentation/'
    r'\{trainval\.txt,test\.txt\}; '
    r'<data_root>/VOC2012/JPEGImages/\*\.jpg, '
    r'<data_root>/VOC2012/SegmentationClass/\*\.png and '
    r'<data_root>/VOC2012/ImageSets/Segmentation/trainval\.txt\. ')


@pytest.fixture(scope='module')
def voc0712_cfg():
    return Config.fromfile(VOC0712_CONFIG)


def test_voc0712_layout_passes(voc0712_cfg, voc0712_root):
    check_dataset_configs(_with_voc_root(voc0712_cfg, voc0712_root))


def test_voc0712_wrong_data_root(voc0712_cfg, tmp_path):
    with raises(FileNotFoundError,
                r'^train_dataloader\.dataset\.datasets\.0: Pascal VOC data ',
                r"not found: data_root '.*nowhere' ",
                r'\(train_dataloader\.dataset\.datasets\.0\.data_root\) ',
                r'does not exist\. ', VOC0712_LAYOUT,
                r'Prepare it under data/VOCdevkit or point the config at it ',
                r'with ', VOC0712_OPTIONS):
        check_dataset_configs(
            _with_voc_root(voc0712_cfg, tmp_path / 'nowhere'))


def test_voc0712_without_the_voc2007_test_archive(voc0712_cfg, tmp_path):
    """VOC2007 trainval and VOC2012 there, VOC2007 test not: training
    alone passes; validation names the missing split and the archive."""
    write_voc0712(tmp_path / 'VOCdevkit')
    (tmp_path / 'VOCdevkit' / 'VOC2007' / 'ImageSets' / 'Segmentation' /
     'test.txt').unlink()
    cfg = _with_voc_root(voc0712_cfg, tmp_path / 'VOCdevkit')
    check_dataset_configs(cfg, loaders=('train_dataloader', ))
    with raises(
            FileNotFoundError,
            r'^val_dataloader\.dataset: Pascal VOC data not found: ',
            r"split file '.*VOCdevkit/VOC2007/ImageSets/Segmentation/",
            r"test\.txt' \(val_dataloader\.dataset\.ann_file\) does not ",
            r'exist\. ', VOC0712_LAYOUT, r"VOC2007's test split .*",
            r'VOC2007 test archive \(VOCtest_06-Nov-2007\.tar\), which ',
            r'extracts into the same VOCdevkit/VOC2007\. Prepare it under ',
            r'data/VOCdevkit or point'):
        check_dataset_configs(cfg)


def test_voc0712_missing_voc2012(voc0712_cfg, tmp_path):
    write_voc0712(tmp_path)
    for sub in ('JPEGImages', 'SegmentationClass'):
        for f in (tmp_path / 'VOC2012' / sub).iterdir():
            f.unlink()
        (tmp_path / 'VOC2012' / sub).rmdir()
    with raises(FileNotFoundError,
                r'^train_dataloader\.dataset\.datasets\.1: Pascal VOC data ',
                r"not found: image folder '.*VOC2012/JPEGImages' ",
                r'\(train_dataloader\.dataset\.datasets\.1\.data_prefix\.',
                r"img_path\), label folder '.*VOC2012/SegmentationClass' ",
                r'\(train_dataloader\.dataset\.datasets\.1\.data_prefix\.',
                r'seg_map_path\) do not exist\. ', VOC0712_LAYOUT,
                r'Prepare it under data/VOCdevkit '):
        check_dataset_configs(_with_voc_root(voc0712_cfg, tmp_path))
