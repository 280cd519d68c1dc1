"""End to end through tools/train.py with segmentation configs.

The real VOC2012-aug FRSKD config (EfficientNet-B0) runs on a tiny
Pascal VOC fixture written by the test, shrunk with --cfg-options to 64x64
crops, batch 2 and a few iterations: it trains, validates (mIoU), writes
checkpoints and resumes from them; a missing data folder is a clear error.

The paper's VOC setting (configs/{baseline,frskd}/efficientdet_d{0,1}_
voc0712_512x512.py) runs on a tiny VOCdevkit (VOC2007 + VOC2012, conftest's
write_voc0712) for one epoch of two iterations (one step of the 2-step
gradient accumulation) with validation; the trained FRSKD d0 checkpoint is
exported and the plain student predicts what the FRSKD model predicts.
"""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import load_tool, write_voc_pairs, write_voc_split
from tool_runs import ROOT, ok_log, run_train_jobs, scalars

from frskd_mm.utils.logs import find_scalar_logs, read_records

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
    aug}.txt`` (conftest's :func:`write_voc_pairs`: learnable rectangles).

    Returns:
        str: ``root``, to be used as ``data_root``.
    """
    names = [f'2007_{i:06d}' for i in range(num_train + num_val)]
    write_voc_pairs(
        root,
        names,
        size=size,
        seed=seed,
        label_folders=('SegmentationClass', 'SegmentationClassAug'))
    splits = dict(
        train=names[:num_train], val=names[num_train:], aug=names[:num_train])
    for split, split_names in splits.items():
        write_voc_split(root, split, split_names)
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


def _seg_argv(work_dir, data_root, max_iters, extra=()):
    return [
        osp.join(ROOT, CONFIG), '--work-dir',
        str(work_dir), *extra, '--cfg-options',
        *tiny_options(data_root, max_iters)
    ]


def test_frskd_seg_trains_validates_checkpoints_and_resumes(runs):
    root, jobs = runs
    work_dir = root / 'voc12aug'
    assert 'mIoU' in ok_log(jobs['voc12aug'])
    assert osp.isfile(work_dir / 'iter_2.pth')
    # The first launch's log (the resumed run writes its own).
    records = read_records(find_scalar_logs(str(work_dir))[0])
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

    assert 'resumed' in ok_log(jobs['voc12aug_resumed']).lower()
    assert osp.isfile(work_dir / 'iter_4.pth')
    records = scalars(work_dir)
    logs = [r for r in records if 'decode.loss_kd' in r]
    assert [r['iter'] for r in logs] == [1, 2, 3, 4]
    # The resumed run is past the ramp: full-weight distillation.
    assert all(r['decode.loss_kd'] > 0 and r['decode.loss_att'] > 0
               for r in logs[2:])
    assert [r['step'] for r in records if 'mIoU' in r] == [2, 4]
    ckpt = torch.load(
        work_dir / 'iter_4.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 4
    state = ckpt['state_dict']
    assert any(k.startswith('neck.') for k in state)
    assert any(k.startswith('decode_head.teacher.') for k in state)
    assert any(k.startswith('decode_head.student.') for k in state)
    assert ckpt['meta']['dataset_meta']['classes'][0] == 'background'


def test_missing_voc_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')
    tool = load_tool('tools/train.py')
    missing = tmp_path / 'no_VOC2012'
    with pytest.raises(FileNotFoundError) as info:
        tool.main(_seg_argv(tmp_path / 'work', str(missing), 2))
    assert 'Pascal VOC data not found' in str(info.value)
    assert str(missing) in str(info.value)
    assert not glob.glob(str(tmp_path / 'work' / '*.pth'))


# The paper's VOC setting (VOC2007 + VOC2012 trainval, epoch-based): both
# FRSKD configs and their baselines.
VOC0712 = {
    f'{kind}_{d}': f'configs/{kind}/efficientdet_{d}_voc0712_512x512.py'
    for kind in ('frskd', 'baseline')
    for d in ('d0', 'd1')
}


def voc0712_data_options(data_root):
    """Point every dataset of a VOC0712 config at the VOCdevkit
    ``data_root``."""
    return [
        f'{key}.data_root={data_root}'
        for key in ('train_dataloader.dataset.datasets.0',
                    'train_dataloader.dataset.datasets.1',
                    'val_dataloader.dataset', 'test_dataloader.dataset')
    ]


def voc0712_options(data_root, frskd: bool):
    """Shrink a VOC0712 config to the fixture: 64x64 crops of images whose
    short side is scaled to [32, 96], batch 2 (the 4 training images: 2
    iterations = 1 optimizer step of the 2-step accumulation), 1 epoch,
    validation on the 2 test images resized to 64x64."""
    opts = voc0712_data_options(data_root) + [
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
        'randomness.seed=0',
        'model.data_preprocessor.size=(64,64)',
        'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0',
        'val_dataloader.dataset.pipeline.2.scale=(64,64)',
    ]
    for i in (0, 1):  # VOC2007 and VOC2012 trainval
        prefix = f'train_dataloader.dataset.datasets.{i}.pipeline'
        opts += [
            f'{prefix}.3.scale=[(65536,32),(65536,96)]',
            f'{prefix}.4.crop_size=(64,64)',
            f'{prefix}.5.size=(64,64)',
        ]
    if frskd:
        # The config's distillation starts at epoch 40; here in epoch 0,
        # at exp(-5 (1 - 1/2)^2).
        opts += ['custom_hooks.0.warmup=0', 'custom_hooks.0.ramp=2']
    return opts


@pytest.fixture(scope='module')
def runs(voc_root, voc0712_root, tmp_path_factory):
    """The training runs of this file, from one interpreter (imports paid
    once, independent runs side by side): the VOC2012-aug FRSKD config for
    2 iterations, resumed to 4 (``voc12aug``, ``voc12aug_resumed``), and
    the four VOC0712 configs for 1 epoch on the VOCdevkit fixture."""
    root = tmp_path_factory.mktemp('seg_runs')
    jobs = {
        'voc12aug':
        dict(argv=_seg_argv(root / 'voc12aug', voc_root, 2)),
        'voc12aug_resumed':
        dict(
            argv=_seg_argv(root / 'voc12aug', voc_root, 4, extra=['--resume']),
            after=['voc12aug']),
    }
    for key, config in VOC0712.items():
        jobs[key] = dict(argv=[
            config, '--work-dir',
            str(root / key), '--cfg-options',
            *voc0712_options(voc0712_root, frskd='/frskd/' in config)
        ])
    return root, run_train_jobs(jobs, root)


@pytest.mark.parametrize('key', list(VOC0712))
def test_voc0712_config_trains_and_validates(runs, key):
    root, jobs = runs
    ok_log(jobs[key])
    work_dir = root / key
    frskd = key.startswith('frskd')
    records = scalars(work_dir)
    logs = [r for r in records if 'decode.loss_ce' in r]
    # 4 images, batch 2, drop_last: 2 iterations in the epoch.
    assert [r['iter'] for r in logs] == [1, 2]
    assert all(r['lr'] == pytest.approx(0.01) for r in logs)
    keys = FRSKD_KEYS if frskd else ('decode.loss_ce', )
    for r in logs:
        assert all(np.isfinite(r[k]) and r[k] > 0 for k in keys), r
        if not frskd:
            assert not any(k in r for k in FRSKD_KEYS[1:]), r
    metrics = [r for r in records if 'mIoU' in r]
    assert len(metrics) == 1 and 0 <= metrics[0]['mIoU'] <= 100
    assert 0 <= metrics[0]['fwIoU'] <= 100  # the authors' FWIoU beside it
    ckpt = torch.load(
        work_dir / 'epoch_1.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 2
    # The 2-step accumulation stepped SGD once: momentum buffers exist.
    assert ckpt['optimizer']['state']
    state = ckpt['state_dict']
    assert any(k.startswith('neck.neck.' if frskd else 'neck.') for k in state)
    assert frskd == any(k.startswith('decode_head.teacher.') for k in state)


def test_voc0712_frskd_exports_the_student(runs, voc0712_root, tmp_path):
    """The trained FRSKD d0 checkpoint exported: the plain student
    (TappedEfficientNet + SegBiFPN + SegBiFPNHead, no self-teacher)
    predicts what the FRSKD model predicts in eval mode."""
    from mmengine.config import Config
    from mmseg.apis import inference_model, init_model

    import frskd_mm  # noqa: F401
    config = VOC0712['frskd_d0']
    root, jobs = runs
    ok_log(jobs['frskd_d0'])
    ckpt = str(root / 'frskd_d0' / 'epoch_1.pth')
    load_tool('tools/export_student.py').main([
        osp.join(ROOT, config), ckpt, '--out-dir',
        str(tmp_path), '--cfg-options', *voc0712_data_options(voc0712_root)
    ])
    name = 'efficientdet_d0_voc0712_512x512_student'
    student_ckpt = str(tmp_path / f'{name}.pth')
    state = torch.load(
        student_ckpt, map_location='cpu', weights_only=False)['state_dict']
    # The student's tensors, renamed as in the plain model: the inner neck
    # becomes the neck, the student head the decode head; the self-teacher
    # and the teacher decoder are gone.
    renames = (('backbone.', 'backbone.'), ('neck.neck.', 'neck.'),
               ('decode_head.student.', 'decode_head.'))
    trained = torch.load(
        ckpt, map_location='cpu', weights_only=False)['state_dict']
    expected = {
        new + k[len(old):]: v
        for k, v in trained.items()
        for old, new in renames if k.startswith(old)
    }
    assert sorted(state) == sorted(expected)
    for k, v in expected.items():
        torch.testing.assert_close(state[k], v, msg=k)

    plain = init_model(str(tmp_path / f'{name}.py'), student_ckpt, 'cpu')
    assert type(plain.neck).__name__ == 'SegBiFPN'
    assert type(plain.decode_head).__name__ == 'SegBiFPNHead'
    frskd = init_model(Config.fromfile(osp.join(ROOT, config)), ckpt, 'cpu')
    assert type(frskd.neck).__name__ == 'FRSKDNeck'
    assert not plain.training and not frskd.training

    inputs = torch.randn(
        2, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = frskd(inputs, mode='tensor')
        torch.testing.assert_close(plain(inputs, mode='tensor'), expected)
    assert expected.shape == (2, 21, 16, 24) and expected.std() > 0
    # Through MMSeg's inference API (the configs' 512x512 test pipeline).
    img = osp.join(voc0712_root, 'VOC2007', 'JPEGImages', '000002.jpg')
    torch.testing.assert_close(
        inference_model(plain, img).seg_logits.data,
        inference_model(frskd, img).seg_logits.data)
