"""DataCheckHook: data-layout mistakes stop the run, naming the file."""
import os.path as osp
import types

import cv2
import pytest
import torch
from conftest import load_tool, write_image_folder
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmpretrain.datasets import CustomDataset
from mmpretrain.structures import DataSample
from mmseg.structures import SegDataSample

from frskd_mm.engine.hooks import DataCheckHook

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def _loader(dataset):
    return types.SimpleNamespace(dataset=dataset)


def _runner(train=None, val=None, test=None, ignore_index=255):
    head = types.SimpleNamespace(ignore_index=ignore_index)
    return types.SimpleNamespace(
        train_dataloader=_loader(train),
        val_dataloader=_loader(val),
        test_dataloader=_loader(test),
        val_loop=None if val is None else 1,
        model=types.SimpleNamespace(decode_head=head))


def _folder(root, split):
    return CustomDataset(data_root=str(root), data_prefix=split)


def test_splits_with_different_classes_stop_training(tmp_path):
    write_image_folder(
        tmp_path, splits=(('train', 1), ('val', 1)), num_classes=3)
    (tmp_path / 'val' / '2').rename(tmp_path / 'val' / 'two')
    runner = _runner(
        train=_folder(tmp_path, 'train'), val=_folder(tmp_path, 'val'))
    with pytest.raises(
            ValueError,
            match=r"The classes of val_dataloader "
            r"differ from those of train_dataloader: missing "
            r"\['2'\], extra \['two'\]"):
        DataCheckHook().before_train(runner)


def test_test_classes_must_be_the_checkpoints(tmp_path):
    write_image_folder(tmp_path, splits=(('test', 1), ), num_classes=3)
    hook = DataCheckHook()
    hook.after_load_checkpoint(
        None, dict(meta=dict(dataset_meta=dict(classes=('0', '1', '2', '3')))))
    with pytest.raises(
            ValueError,
            match=r"test_dataloader differ from those "
            r"of the checkpoint .*: missing \['3'\]"):
        hook.before_test(_runner(test=_folder(tmp_path, 'test')))
    hook.after_load_checkpoint(
        None, dict(meta=dict(dataset_meta=dict(classes=('0', '1', '2')))))
    hook.before_test(_runner(test=_folder(tmp_path, 'test')))


@pytest.fixture
def canvases(write_canvases, tmp_path):
    root = tmp_path / 'canvases'
    write_canvases(str(root), num_canvases={'train': 3, 'val': 2})
    with DefaultScope.overwrite_default_scope('mmseg'):
        from frskd_mm.datasets.digit_canvas import DigitCanvasDataset

        def dataset(split):
            return DigitCanvasDataset(
                data_root=str(root),
                data_prefix=dict(
                    img_path=f'img_dir/{split}',
                    seg_map_path=f'ann_dir/{split}'))

        yield root, dataset


def test_label_map_of_another_size_stops_training(canvases):
    root, dataset = canvases
    label = root / 'ann_dir' / 'val' / '00001.png'
    cv2.imwrite(str(label), cv2.imread(str(label), cv2.IMREAD_UNCHANGED)[:60])
    hook = DataCheckHook()
    hook.before_train(_runner(train=dataset('train'), val=None))
    with pytest.raises(
            ValueError,
            match=r'val_dataloader: label map .*'
            r'ann_dir/val/00001.png is 64x60 but its image .*'
            r'img_dir/val/00001.png is 64x64'):
        hook.before_train(_runner(train=dataset('train'), val=dataset('val')))


def _seg_batch(*labels):
    samples = []
    for i, label in enumerate(labels):
        s = SegDataSample(metainfo=dict(seg_map_path=f'ann_dir/val/{i}.png'))
        s.gt_sem_seg = PixelData(data=torch.tensor(label)[None])
        samples.append(s)
    return dict(data_samples=samples)


def test_label_values_outside_the_classes_stop_validation(canvases):
    _, dataset = canvases
    runner = _runner(train=dataset('train'), val=dataset('val'))
    hook = DataCheckHook()
    ok = [[0, 10], [255, 3]]  # 11 classes; 255 is ignored
    hook.before_val_iter(runner, 0, _seg_batch(ok, ok))
    with pytest.raises(
            ValueError,
            match=r'Label value\(s\) \[11, 42\] in '
            r'ann_dir/val/1.png are outside the 11 classes '
            r'\[0, 10\] of the dataset and are not '
            r'ignore_index=255'):
        hook.before_val_iter(runner, 0, _seg_batch(ok, [[42, 11], [0, 1]]))
    with pytest.raises(ValueError, match=r'\[255\] .*ignore_index=0'):
        hook.before_train_iter(
            _runner(train=dataset('train'), ignore_index=0), 0, _seg_batch(ok))


def test_class_labels_outside_the_classes_stop_training(tmp_path):
    write_image_folder(tmp_path, splits=(('train', 1), ), num_classes=3)
    sample = DataSample(metainfo=dict(img_path='train/x.png'))
    sample.set_gt_label(5)
    with pytest.raises(ValueError, match=r'\[5\] in train/x.png'):
        DataCheckHook().before_train_iter(
            _runner(train=_folder(tmp_path, 'train')), 0,
            dict(data_samples=[sample]))


def test_hidden_folder_that_became_a_class_is_named(tmp_path):
    """Built without the tools' config check, MMPretrain's CustomDataset
    makes a hidden folder a class: the hook says so."""
    write_image_folder(
        tmp_path, splits=(('train', 1), ('val', 1)), num_classes=2)
    (tmp_path / 'val' / '.ipynb_checkpoints').mkdir()
    runner = _runner(
        train=_folder(tmp_path, 'train'), val=_folder(tmp_path, 'val'))
    with pytest.raises(
            ValueError,
            match=r"extra \['\.ipynb_checkpoints'\]"
            r".*The hidden folder\(s\) \['\.ipynb_checkpoints'\] "
            r'became classes .*delete or move them'):
        DataCheckHook().before_train(runner)


def test_train_stops_before_the_first_iteration(tmp_path, monkeypatch):
    """Through tools/train.py: a test split with a hidden folder, or with a
    missing class, stops the run and no iteration runs."""
    monkeypatch.setenv('LOCAL_RANK', '0')
    write_image_folder(tmp_path, splits=(('train', 1), ('test', 1)))
    train = load_tool('tools/train.py')
    opts = ['train_cfg.max_epochs=1', 'randomness.seed=0']
    for split in ('train', 'val', 'test'):
        opts += [
            f'{split}_dataloader.dataset.data_root={tmp_path}',
            f'{split}_dataloader.num_workers=0'
        ]
    argv = [
        osp.join(ROOT, 'configs/demo/baseline_wrn16_2_digits.py'),
        '--cfg-options', *opts
    ]
    train.main(argv[:1] + ['--work-dir', str(tmp_path / 'ok')] + argv[1:])
    assert osp.isfile(tmp_path / 'ok' / 'epoch_1.pth')

    def stops(work_dir, match):
        with pytest.raises(ValueError, match=match):
            train.main(argv[:1] +
                       ['--work-dir', str(tmp_path / work_dir)] + argv[1:])
        logs = list((tmp_path / work_dir).glob('*/vis_data/scalars.json'))
        assert all(p.read_text() == '' for p in logs)
        assert not list((tmp_path / work_dir).glob('*.pth'))

    # Stopped by check_dataset_configs (the tools' run guards) before the
    # datasets are built, or else by this hook: both name the folder.
    (tmp_path / 'test' / '.ipynb_checkpoints').mkdir()
    stops('hidden', r'\.ipynb_checkpoints.*(?i:delete or move them)')
    (tmp_path / 'test' / '.ipynb_checkpoints').rmdir()

    (tmp_path / 'test' / '9').rename(tmp_path / 'test' / 'nine')
    stops('bad', r"missing \['9'\]")
