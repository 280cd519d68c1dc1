"""TensorBoard logging through MMEngine's vis_backends, as the README shows
it: a config that inherits a demo config and adds TensorboardVisBackend
next to LocalVisBackend, trained for a few iterations with tools/train.py.
Skipped when ``tensorboard`` is not installed (requirements.txt installs
it)."""
import glob
import os.path as osp

import pytest
from conftest import ROOT, load_tool

CLS_SNIPPET = """
visualizer = dict(
    type='UniversalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
        dict(type='TensorboardVisBackend'),
    ])
"""
SEG_SNIPPET = """
visualizer = dict(
    type='SegLocalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
        dict(type='TensorboardVisBackend'),
    ],
    name='visualizer')
"""


@pytest.fixture(autouse=True)
def tensorboard(monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')  # parse_args exports it
    return pytest.importorskip(
        'tensorboard', reason='tensorboard is not installed')


def _config(tmp_path, base, snippet):
    path = tmp_path / f'{osp.basename(base)[:-3]}_tensorboard.py'
    path.write_text(f'_base_ = [{osp.join(ROOT, base)!r}]\n{snippet}')
    return str(path)


def _loaders(data_root=None):
    opts = []
    for split in ('train', 'val', 'test'):
        if data_root is not None:
            opts.append(f'{split}_dataloader.dataset.data_root={data_root}')
        opts += [
            f'{split}_dataloader.num_workers=0',
            f'{split}_dataloader.persistent_workers=False'
        ]
    return opts


def _scalar_tags(work_dir):
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    events = glob.glob(
        osp.join(work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    assert len(events) == 1, events
    # The local backend still writes scalars.json beside the events.
    assert glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    accumulator = EventAccumulator(events[0])
    accumulator.Reload()
    return accumulator, set(accumulator.Tags()['scalars'])


def test_tensorboard_classification(tmp_path, digits_root):
    config = _config(tmp_path, 'configs/demo/frskd_wrn16_2_digits.py',
                     CLS_SNIPPET)
    work_dir = str(tmp_path / 'work')
    load_tool('tools/train.py').main([
        config, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=8',
        'default_hooks.logger.interval=1', *_loaders(digits_root)
    ])
    accumulator, tags = _scalar_tags(work_dir)
    assert {
        'loss_cls', 'loss_teacher', 'loss_kd', 'loss_att', 'accuracy/top1'
    } <= tags
    assert [e.step for e in accumulator.Scalars('loss_kd')] == [1, 2, 3]


def test_tensorboard_segmentation(tmp_path, write_canvases):
    data_root = str(tmp_path / 'canvases')
    write_canvases(data_root, num_canvases={'train': 4, 'val': 2})
    config = _config(tmp_path, 'configs/demo/frskd_seg_digits.py', SEG_SNIPPET)
    work_dir = str(tmp_path / 'work')
    load_tool('tools/train.py').main([
        config, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'train_dataloader.batch_size=2', 'val_dataloader.batch_size=1',
        'default_hooks.logger.interval=1', *_loaders(data_root)
    ])
    _, tags = _scalar_tags(work_dir)
    assert {'loss', 'decode.loss_ce', 'mIoU'} <= tags
