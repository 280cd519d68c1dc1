"""End to end through tools/train.py on a tiny CIFAR-100 fixture."""
import glob
import os.path as osp
import re

import pytest
import torch
from conftest import load_tool
from tool_runs import ROOT, ok_log, run_train_jobs, scalars, tiny_options

from frskd_mm.utils.logs import find_scalar_logs, read_records

LOSS_KEYS = ('loss_cls', 'loss_teacher', 'loss_kd', 'loss_att')

CONFIG = 'configs/frskd/resnet18_cifar100.py'
VARIANTS = [
    'resnet18_cifar100_mixup', 'resnet18_cifar100_cutmix', 'wrn16_2_cifar100',
    'resnet18_cifar100_uniform_bifpn', 'resnet18_cifar100_od'
]


@pytest.fixture(scope='module')
def runs(cifar100_root, tmp_path_factory):
    """The training runs of this file, from one interpreter (imports paid
    once, independent runs side by side): ResNet-18 FRSKD for 1 epoch,
    resumed to 2 epochs and tested (``frskd``, ``resumed``, ``test``), and
    one epoch of each variant. An epoch is 4 iterations of 4 images (16
    of the fixture's)."""
    root = tmp_path_factory.mktemp('train')

    def argv(config, work_dir, epochs=1, extra=()):
        return [
            config, '--work-dir',
            str(work_dir), *extra, '--cfg-options',
            *tiny_options(cifar100_root, epochs),
            'train_dataloader.batch_size=4',
            'train_dataloader.dataset.indices=16'
        ]

    jobs = {
        'frskd':
        dict(argv=argv(CONFIG, root / 'frskd')),
        'resumed':
        dict(
            argv=argv(CONFIG, root / 'frskd', epochs=2, extra=['--resume']),
            after=['frskd']),
        'test':
        dict(
            tool='test',
            argv=[
                CONFIG,
                str(root / 'frskd' / 'epoch_2.pth'), '--work-dir',
                str(root / 'test'), '--cfg-options',
                *tiny_options(cifar100_root)
            ],
            after=['resumed']),
    }
    for name in VARIANTS:
        jobs[name] = dict(argv=argv(f'configs/frskd/{name}.py', root / name))
    return root, run_train_jobs(jobs, root)


def test_frskd_trains_validates_checkpoints_and_resumes(runs):
    root, jobs = runs
    work_dir = root / 'frskd'
    ok_log(jobs['frskd'])
    # The first launch's log (the resumed run writes its own).
    records = read_records(find_scalar_logs(str(work_dir))[0])
    train_logs = [r for r in records if 'loss_kd' in r]
    assert [r['iter'] for r in train_logs] == [1, 2, 3, 4]
    for r in train_logs:
        assert all(torch.isfinite(torch.tensor(r[k])) for k in LOSS_KEYS)
        assert r['loss_kd'] > 0 and r['loss_att'] > 0
    assert any('accuracy/top1' in r for r in records)
    assert osp.isfile(work_dir / 'epoch_1.pth')  # max_keep_ckpts=3

    assert 'resumed' in ok_log(jobs['resumed']).lower()
    assert osp.isfile(work_dir / 'epoch_2.pth')
    resumed = [r['iter'] for r in scalars(work_dir) if 'loss_kd' in r]
    assert resumed == [1, 2, 3, 4, 5, 6, 7, 8]
    ckpt = torch.load(
        work_dir / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 8
    assert any(k.startswith('neck.') for k in ckpt['state_dict'])

    assert 'accuracy/top1' in ok_log(jobs['test'])


@pytest.mark.parametrize('name', VARIANTS)
def test_variants_train(name, runs):
    root, jobs = runs
    ok_log(jobs[name])
    assert osp.isfile(root / name / 'epoch_1.pth')
    logs = [r for r in scalars(root / name) if 'loss_kd' in r]
    assert len(logs) == 4
    assert all(r[k] == r[k] for r in logs for k in LOSS_KEYS)  # not NaN


def _train_tool(monkeypatch):
    """tools/train.py as a module, to call its main() in this process."""
    monkeypatch.setenv('LOCAL_RANK', '0')
    return load_tool('tools/train.py')


def test_training_without_the_hook_stops_and_names_it(cifar100_root, tmp_path,
                                                      monkeypatch):
    tool = _train_tool(monkeypatch)
    with pytest.raises(RuntimeError, match='without FRSKDHook'):
        tool.main([
            osp.join(ROOT, 'configs/frskd/wrn16_2_cifar100.py'), '--work-dir',
            str(tmp_path / 'nohook'), '--cfg-options',
            *tiny_options(cifar100_root), 'custom_hooks=[]'
        ])
    assert not glob.glob(str(tmp_path / 'nohook' / '*.pth'))


def test_missing_dataset_folder_is_a_clear_error(tmp_path, monkeypatch):
    tool = _train_tool(monkeypatch)
    with pytest.raises(FileNotFoundError) as info:
        tool.main([
            osp.join(ROOT, 'configs/frskd/wrn16_2_cifar100.py'), '--work-dir',
            str(tmp_path / 'w'), '--cfg-options',
            *tiny_options(str(tmp_path / 'no_data'))
        ])
    assert 'cifar-100-python' in str(info.value)
    assert 'not found' in str(info.value)


def test_config_mismatch_stops_before_the_first_iteration(
        digits_root, tmp_path, monkeypatch):
    tool = _train_tool(monkeypatch)
    config = osp.join(ROOT, 'configs/demo/frskd_wrn16_2_digits.py')
    with pytest.raises(
            ValueError,
            match=r'model.neck.num_classes=11 but '
            r'model.head.num_classes=10'):
        tool.main([
            config, '--work-dir',
            str(tmp_path), '--cfg-options', *tiny_options(digits_root, 2),
            'model.neck.num_classes=11'
        ])
    assert all(p.read_text() == ''
               for p in tmp_path.glob('*/vis_data/scalars.json'))


def test_nonfinite_loss_stops_frskd_before_a_checkpoint(
        digits_root, tmp_path, monkeypatch):
    """A learning rate far too high: the run stops at the first NaN/inf
    term, naming it and the iteration; switched off, it trains on."""
    tool = _train_tool(monkeypatch)
    opts = tiny_options(digits_root, 2) + ['optim_wrapper.optimizer.lr=1e12']
    config = osp.join(ROOT, 'configs/demo/frskd_wrn16_2_digits.py')
    with pytest.raises(FloatingPointError) as info:
        tool.main([
            config, '--work-dir',
            str(tmp_path / 'stop'), '--cfg-options', *opts
        ])
    message = str(info.value)
    assert re.match(
        r'FRSKD: non-finite loss at iteration \d+ \(epoch 1\): '
        r'loss_\w+=(nan|inf)', message), message
    assert not glob.glob(str(tmp_path / 'stop' / '*.pth'))

    tool.main([
        config, '--work-dir',
        str(tmp_path / 'on'), '--cfg-options', *opts,
        'custom_hooks.0.stop_on_nonfinite=False'
    ])
    assert osp.isfile(tmp_path / 'on' / 'epoch_2.pth')
