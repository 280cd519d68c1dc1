"""check_dataset_configs on MMDetection's CocoDataset and VOCDataset: an
annotation file that is missing, empty, broken or without what the run
needs is a clear error naming the config key, before any dataset is built."""
import json
import os

import pytest

from frskd_mm.utils.dataset_checks import check_dataset_configs

CATEGORIES = [dict(id=1, name='0'), dict(id=2, name='1')]
GOOD = dict(
    images=[dict(id=0, file_name='a.png', width=8, height=8)],
    annotations=[
        dict(
            id=1,
            image_id=0,
            category_id=1,
            bbox=[1, 1, 4, 4],
            area=16,
            iscrowd=0)
    ],
    categories=CATEGORIES)


def _cfg(root, ann='ann.json', loader='train_dataloader', **dataset):
    ds = dict(
        type='CocoDataset',
        data_root=str(root),
        ann_file=ann,
        data_prefix=dict(img='images/'),
        **dataset)
    return {loader: dict(dataset=ds)}


@pytest.fixture
def root(tmp_path):
    (tmp_path / 'images').mkdir()
    (tmp_path / 'ann.json').write_text(json.dumps(GOOD))
    return tmp_path


def test_a_good_coco_config_passes(root):
    check_dataset_configs(
        _cfg(root, metainfo=dict(classes=('0', '1'))), ['train_dataloader'])


@pytest.mark.parametrize('content,error,match', [
    (None, FileNotFoundError, 'does not exist'), ('', ValueError, 'is empty'),
    ('{"images": [{"id": 0', ValueError, 'is not valid JSON'),
    ('[1, 2]', ValueError, 'holds a JSON list'),
    (json.dumps(dict(GOOD, images=[])), ValueError, 'has no "images"'),
    (json.dumps(dict(GOOD, categories=[])), ValueError, 'has no "categories"'),
    (json.dumps(dict(GOOD,
                     annotations=[])), ValueError, 'has no "annotations"')
])
def test_broken_annotation_files_name_the_key(root, content, error, match):
    path = root / 'ann.json'
    if content is None:
        os.remove(path)
    else:
        path.write_text(content)
    with pytest.raises(error, match=match) as info:
        check_dataset_configs(_cfg(root), ['train_dataloader'])
    assert 'train_dataloader.dataset.ann_file' in str(info.value)


def test_images_without_boxes_are_fine_in_test_mode(root):
    (root / 'ann.json').write_text(json.dumps(dict(GOOD, annotations=[])))
    check_dataset_configs(
        _cfg(root, loader='test_dataloader', test_mode=True),
        ['test_dataloader'])


def test_class_names_must_be_categories(root):
    with pytest.raises(ValueError, match=r"names \['person'\]"):
        check_dataset_configs(
            _cfg(root, metainfo=dict(classes=('0', 'person'))),
            ['train_dataloader'])


def test_missing_image_folder(root):
    os.rmdir(root / 'images')
    with pytest.raises(
            FileNotFoundError,
            match=r'train_dataloader.dataset.data_prefix.img: image folder'):
        check_dataset_configs(_cfg(root), ['train_dataloader'])


def test_the_coco_metric_annotation_file(root):
    cfg = _cfg(root, loader='val_dataloader')
    cfg['val_evaluator'] = dict(
        type='CocoMetric', ann_file=str(root / 'missing.json'))
    with pytest.raises(FileNotFoundError, match='val_evaluator.ann_file'):
        check_dataset_configs(cfg, ['val_dataloader'])
    check_dataset_configs(cfg, ['train_dataloader'])  # no validation


def test_voc_boxes(tmp_path):
    ds = dict(
        type='VOCDataset',
        data_root=str(tmp_path),
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'))
    cfg = dict(train_dataloader=dict(dataset=ds))
    with pytest.raises(
            FileNotFoundError,
            match=r'train_dataloader.dataset.ann_file: .*trainval'):
        check_dataset_configs(cfg, ['train_dataloader'])
    (tmp_path / 'VOC2007' / 'ImageSets' / 'Main').mkdir(parents=True)
    (tmp_path / 'VOC2007' / 'ImageSets' / 'Main' /
     'trainval.txt').write_text('000001\n')
    with pytest.raises(FileNotFoundError, match='Annotations'):
        check_dataset_configs(cfg, ['train_dataloader'])
    (tmp_path / 'VOC2007' / 'Annotations').mkdir()
    (tmp_path / 'VOC2007' / 'JPEGImages').mkdir()
    check_dataset_configs(cfg, ['train_dataloader'])
