"""Interrupted runs: a kill at any point of a checkpoint save loses nothing,
and with ``randomness.deterministic=True`` a resumed run ends with the
weights of an uninterrupted one (classification and segmentation, with
``num_workers`` 0 and 2)."""
import glob
import os.path as osp

import pytest
import torch
from tool_runs import ROOT, log_of, run_train_jobs, tiny_options

CLS_CONFIG = osp.join(ROOT, 'configs/demo/frskd_wrn16_2_digits.py')
SEG_CONFIG = osp.join(ROOT, 'configs/demo/frskd_seg_digits.py')


def _cls_argv(work_dir,
              data_root,
              epochs=2,
              workers=0,
              deterministic=True,
              resume=False):
    opts = tiny_options(data_root, epochs, workers) + [
        f'randomness.deterministic={deterministic}'
    ]
    return [
        CLS_CONFIG, '--work-dir',
        str(work_dir), *(['--resume'] if resume else []), '--cfg-options',
        *opts
    ]


def _weights(path):
    return torch.load(
        path, map_location='cpu', weights_only=False)['state_dict']


def _max_abs_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def _resumed_from(job) -> str:
    line = [x for x in log_of(job).splitlines() if 'resumed epoch' in x]
    assert line, log_of(job)[-3000:]
    return line[0].split('resumed epoch:')[1].strip()


# max_keep_ckpts=1 (the demo's): saving epoch_2 replaces epoch_1.
KILLS = {  # kill point -> (target, the epoch --resume continues from)
    'checkpoint_partial': ('epoch_2.pth', '1'),
    'before_pointer': ('epoch_2.pth', '2'),
    'pointer_partial': ('epoch_2.pth', '2'),
    'before_removal': ('epoch_1.pth', '2'),
}

SEG_TEST_CONFIG = '''
_base_ = [{base!r}]
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=(48, 48)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]))
'''


def _seg_argv(work, data_root, config, workers, resume=None):
    opts = [
        'train_cfg.max_iters=6', 'train_cfg.val_interval=3',
        'default_hooks.checkpoint.interval=3',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.logger.interval=1', 'custom_hooks.0.warmup=2',
        'custom_hooks.0.ramp=2', 'randomness.seed=0',
        'randomness.deterministic=True'
    ]
    for split in ('train', 'val', 'test'):
        opts += [
            f'{split}_dataloader.dataset.data_root={data_root}',
            f'{split}_dataloader.batch_size=4',
            f'{split}_dataloader.num_workers={workers}'
        ]
    return [
        str(config), '--work-dir',
        str(work), *(['--resume', str(resume)] if resume else []),
        '--cfg-options', *opts
    ]


@pytest.fixture(scope='module')
def runs(digits_root, write_canvases, tmp_path_factory):
    """All training runs of this file, in one driver (imports paid once,
    independent runs side by side):

    - ``kill/<point>``: the classification demo (2 epochs) killed at
      ``point`` of the epoch-2 save, then ``--resume``;
    - ``cls_full<w>`` / ``cls_cut<w>``: 2 epochs uninterrupted, and the
      same run resumed from the uninterrupted run's epoch-1 checkpoint in
      a fresh process (``w`` workers; ``plain``: without
      ``deterministic=True``);
    - ``seg_full<w>`` / ``seg_cut<w>``: the segmentation demo with random
      crops and flips, 6 iterations, resumed from iteration 3.
    """
    tmp = tmp_path_factory.mktemp('resume')
    canvases = tmp / 'canvases'
    write_canvases(str(canvases), num_canvases={'train': 8, 'val': 2})
    seg_config = tmp / 'seg.py'
    seg_config.write_text(SEG_TEST_CONFIG.format(base=SEG_CONFIG))
    jobs = {}
    for point, (target, _) in KILLS.items():
        work = tmp / 'kill' / point
        jobs[f'kill/{point}'] = dict(
            argv=_cls_argv(work, digits_root),
            kill=dict(point=point, target=target))
        jobs[f'resume/{point}'] = dict(
            argv=_cls_argv(work, digits_root, resume=True),
            after=[f'kill/{point}'])
    keep_all = ['default_hooks.checkpoint.max_keep_ckpts=-1']
    for w, workers, deterministic in (('0', 0, True), ('2', 2, True),
                                      ('plain', 2, False)):
        full, cut = tmp / f'cls_full{w}', tmp / f'cls_cut{w}'
        argv = _cls_argv(full, digits_root, 2, workers, deterministic)
        jobs[f'cls_full{w}'] = dict(argv=argv + keep_all)
        argv = _cls_argv(cut, digits_root, 2, workers, deterministic)
        jobs[f'cls_cut{w}'] = dict(
            argv=argv[:3] + ['--resume', str(full / 'epoch_1.pth')] + argv[3:],
            after=[f'cls_full{w}'])
    for workers in (0, 2):
        full, cut = tmp / f'seg_full{workers}', tmp / f'seg_cut{workers}'
        jobs[f'seg_full{workers}'] = dict(
            argv=_seg_argv(full, canvases, seg_config, workers))
        jobs[f'seg_cut{workers}'] = dict(
            argv=_seg_argv(
                cut, canvases, seg_config, workers,
                resume=full / 'iter_3.pth'),
            after=[f'seg_full{workers}'])
    return tmp, run_train_jobs(jobs, tmp)


def test_a_kill_at_any_point_of_a_save_resumes_from_the_newest_checkpoint(
        runs):
    tmp, jobs = runs
    for point, (_, epoch) in KILLS.items():
        killed, resumed = jobs[f'kill/{point}'], jobs[f'resume/{point}']
        assert killed['returncode'] == -9, (point, log_of(killed)[-2000:])
        assert resumed['returncode'] == 0, (point, log_of(resumed)[-3000:])
        assert _resumed_from(resumed).startswith(f'{epoch},'), point
        work = tmp / 'kill' / point
        # Finished, one regular checkpoint kept, nothing half-written left.
        assert sorted(
            osp.basename(p)
            for p in glob.glob(str(work / 'epoch_*.pth'))) == ['epoch_2.pth'
                                                               ], point
        assert not glob.glob(str(work / '.*.tmp')), point
        with open(work / 'last_checkpoint') as f:
            assert f.read() == str(work / 'epoch_2.pth'), point
        assert len(glob.glob(str(work / 'best_*.pth'))) == 1, point


def _check_exact(runs, name, final):
    tmp, jobs = runs
    full, cut = name.replace('@', '_full'), name.replace('@', '_cut')
    for job in (jobs[full], jobs[cut]):
        assert job['returncode'] == 0, log_of(job)[-3000:]
    return _max_abs_diff(
        _weights(tmp / full / final), _weights(tmp / cut / final))


def test_resume_is_exact_for_classification(runs):
    """WRN-16-2 FRSKD, RandomCrop augmentation, validation and a best
    checkpoint each epoch; resumed after epoch 1 of 2."""
    for workers in ('0', '2'):
        assert _check_exact(runs, f'cls@{workers}', 'epoch_2.pth') == 0
        assert _resumed_from(runs[1][f'cls_cut{workers}']).startswith('1,')
    # Without deterministic=True, MMEngine's own resume re-seeds: the
    # resumed run draws other crops and ends elsewhere.
    assert _check_exact(runs, 'cls@plain', 'epoch_2.pth') > 0


def test_resume_is_exact_for_segmentation(runs):
    """The demo's FRSKD FCN (dropout) with random crops and flips, an
    iteration-based schedule with validation, distillation switched on
    half-way; resumed after iteration 3 of 6."""
    for workers in ('0', '2'):
        assert _check_exact(runs, f'seg@{workers}', 'iter_6.pth') == 0
        assert 'resumed epoch: 0, iter: 3' in log_of(
            runs[1][f'seg_cut{workers}'])
