"""End to end through tools/train.py with a segmentation config.

The real VOC2012-aug FRSKD config (EfficientNet-B0) runs on a tiny
Pascal VOC fixture written by the test, shrunk with --cfg-options to 64x64
crops, batch 2 and a few iterations: it trains, validates (mIoU), writes
checkpoints and resumes from them; a missing data folder is a clear error.
"""
import glob
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from tool_runs import run_tool, scalars

CONFIG = 'configs/frskd/efficientnet_b0_voc12aug_512x512.py'
FRSKD_KEYS = ('decode.loss_ce', 'decode.loss_teacher', 'decode.loss_kd',
              'decode.loss_att')


def write_voc(root,
              num_train: int = 16,
              num_val: int = 4,
              size: int = 64,
              seed: int = 0) -> str:
    """Write a tiny VOC2012 + SBD aug in the official layout.

    ``<root>/JPEGImages/<name>.jpg``, label PNGs without palette (values
    0..20, 255 on object borders) in ``SegmentationClass`` and
    ``SegmentationClassAug``, and ``ImageSets/Segmentation/{train,val,
    aug}.txt``. Each image holds one or two filled rectangles whose class
    decides their colour, so the labels are learnable.

    Returns:
        str: ``root``, to be used as ``data_root``.
    """
    rng = np.random.default_rng(seed)
    for folder in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                   'ImageSets/Segmentation'):
        os.makedirs(osp.join(root, folder), exist_ok=True)
    names = {'train': [], 'val': []}
    for i in range(num_train + num_val):
        split = 'train' if i < num_train else 'val'
        name = f'2007_{i:06d}'
        names[split].append(name)
        img = rng.integers(0, 40, (size, size, 3)).astype(np.uint8)
        seg = np.zeros((size, size), np.uint8)
        for _ in range(int(rng.integers(1, 3))):
            cls = int(rng.integers(1, 21))
            y, x = rng.integers(0, size // 2, 2)
            h, w = rng.integers(size // 4, size // 2, 2)
            img[y:y + h, x:x + w] = (12 * cls) % 256, 255 - 10 * cls, 128
            seg[y:y + h, x:x + w] = cls
            # 255 on the object border, as in VOC.
            cv2.rectangle(seg, (int(x), int(y)),
                          (int(x + w - 1), int(y + h - 1)), 255, 1)
        assert cv2.imwrite(osp.join(root, 'JPEGImages', f'{name}.jpg'), img)
        for folder in ('SegmentationClass', 'SegmentationClassAug'):
            assert cv2.imwrite(osp.join(root, folder, f'{name}.png'), seg)
    splits = dict(train=names['train'], val=names['val'], aug=names['train'])
    for split, split_names in splits.items():
        with open(
                osp.join(root, 'ImageSets', 'Segmentation', f'{split}.txt'),
                'w') as f:
            f.write('\n'.join(split_names) + '\n')
    return str(root)


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    return write_voc(tmp_path_factory.mktemp('VOC2012'))


def tiny_options(data_root, max_iters):
    """Shrink the VOC config: 64x64 crops, batch 2, checkpoints every 2."""
    opts = [
        f'train_cfg.max_iters={max_iters}',
        'train_cfg.val_interval=2',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2',
        'randomness.seed=0',
        'model.data_preprocessor.size=(64,64)',
        # Distillation off for 1 iteration, then the sigmoid ramp over 1
        # (in iterations: the config's schedule is in fractions).
        'custom_hooks.0.by_ratio=False',
        'custom_hooks.0.warmup=1',
        'custom_hooks.0.ramp=1',
        'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0',
        'val_dataloader.dataset.pipeline.1.scale=(128,64)',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
    ]
    for i in (0, 1):  # VOC train + SBD aug
        prefix = f'train_dataloader.dataset.datasets.{i}'
        opts += [
            f'{prefix}.data_root={data_root}',
            f'{prefix}.pipeline.2.scale=(128,64)',
            f'{prefix}.pipeline.3.crop_size=(64,64)',
            f'{prefix}.pipeline.6.size=(64,64)'
        ]
    return opts


def train(work_dir, data_root, max_iters, extra=(), check=True):
    return run_tool(
        'tools/train.py',
        CONFIG,
        '--work-dir',
        str(work_dir),
        *extra,
        '--cfg-options',
        *tiny_options(data_root, max_iters),
        check=check)


def test_frskd_seg_trains_validates_checkpoints_and_resumes(
        voc_root, tmp_path):
    proc = train(tmp_path, voc_root, max_iters=2)
    assert 'mIoU' in proc.stdout + proc.stderr
    assert osp.isfile(tmp_path / 'iter_2.pth')
    records = scalars(tmp_path)
    logs = [r for r in records if 'decode.loss_kd' in r]
    assert [r['iter'] for r in logs] == [1, 2]
    for r in logs:
        assert all(np.isfinite(r[k]) for k in FRSKD_KEYS), r
        assert r['decode.loss_ce'] > 0 and r['decode.loss_teacher'] > 0
    # FRSKDHook: distillation is off during the warm-up (iteration 1),
    # then ramps up.
    assert logs[0]['decode.loss_kd'] == 0 and logs[0]['decode.loss_att'] == 0
    assert logs[1]['decode.loss_att'] > 0
    metrics = [r for r in records if 'mIoU' in r]
    assert [r['step'] for r in metrics] == [2]
    assert 0 <= metrics[0]['mIoU'] <= 100

    proc = train(tmp_path, voc_root, max_iters=4, extra=['--resume'])
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    assert osp.isfile(tmp_path / 'iter_4.pth')
    records = scalars(tmp_path)
    logs = [r for r in records if 'decode.loss_kd' in r]
    assert [r['iter'] for r in logs] == [1, 2, 3, 4]
    # The resumed run is past the ramp: full-weight distillation.
    assert all(r['decode.loss_kd'] > 0 and r['decode.loss_att'] > 0
               for r in logs[2:])
    assert [r['step'] for r in records if 'mIoU' in r] == [2, 4]
    ckpt = torch.load(
        tmp_path / 'iter_4.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 4
    state = ckpt['state_dict']
    assert any(k.startswith('neck.') for k in state)
    assert any(k.startswith('decode_head.teacher.') for k in state)
    assert any(k.startswith('decode_head.student.') for k in state)
    assert ckpt['meta']['dataset_meta']['classes'][0] == 'background'


def test_missing_voc_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / 'no_VOC2012'
    proc = train(tmp_path / 'work', str(missing), max_iters=2, check=False)
    assert proc.returncode != 0
    assert 'FileNotFoundError' in proc.stderr
    assert 'Pascal VOC data not found' in proc.stderr
    assert str(missing) in proc.stderr
    assert not glob.glob(str(tmp_path / 'work' / '*.pth'))
