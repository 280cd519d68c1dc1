"""End to end through tools/train.py on a tiny CIFAR-100 fixture."""
import glob
import os.path as osp
import re

import pytest
import torch
from conftest import load_tool
from tool_runs import (ROOT, log_of, run_tool, run_train_jobs, scalars,
                       tiny_options)

LOSS_KEYS = ('loss_cls', 'loss_teacher', 'loss_kd', 'loss_att')


def train(config, work_dir, data_root, epochs=1, extra=(), check=True):
    return run_tool(
        'tools/train.py',
        config,
        '--work-dir',
        str(work_dir),
        *extra,
        '--cfg-options',
        *tiny_options(data_root, epochs),
        check=check)


def test_frskd_trains_validates_checkpoints_and_resumes(
        cifar100_root, tmp_path):
    config = 'configs/frskd/resnet18_cifar100.py'
    train(config, tmp_path, cifar100_root, epochs=1)
    assert osp.isfile(tmp_path / 'epoch_1.pth')
    records = scalars(tmp_path)
    train_logs = [r for r in records if 'loss_kd' in r]
    assert [r['iter'] for r in train_logs] == [1, 2, 3, 4]
    for r in train_logs:
        assert all(torch.isfinite(torch.tensor(r[k])) for k in LOSS_KEYS)
        assert r['loss_kd'] > 0 and r['loss_att'] > 0
    assert any('accuracy/top1' in r for r in records)

    proc = train(config, tmp_path, cifar100_root, epochs=2, extra=['--resume'])
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    assert osp.isfile(tmp_path / 'epoch_2.pth')
    resumed = [r['iter'] for r in scalars(tmp_path) if 'loss_kd' in r]
    assert resumed == [1, 2, 3, 4, 5, 6, 7, 8]
    ckpt = torch.load(
        tmp_path / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 8
    assert any(k.startswith('neck.') for k in ckpt['state_dict'])

    proc = run_tool('tools/test.py', config, str(tmp_path / 'epoch_2.pth'),
                    '--work-dir', str(tmp_path / 'test'), '--cfg-options',
                    *tiny_options(cifar100_root))
    assert 'accuracy/top1' in proc.stdout + proc.stderr


VARIANTS = [
    'resnet18_cifar100_mixup', 'resnet18_cifar100_cutmix', 'wrn16_2_cifar100',
    'resnet18_cifar100_uniform_bifpn', 'resnet18_cifar100_od'
]


@pytest.fixture(scope='module')
def variant_runs(cifar100_root, tmp_path_factory):
    """One epoch of each variant, from one interpreter (imports paid
    once)."""
    root = tmp_path_factory.mktemp('variants')
    jobs = [
        dict(argv=[
            f'configs/frskd/{name}.py', '--work-dir',
            str(root / name), '--cfg-options', *tiny_options(cifar100_root)
        ]) for name in VARIANTS
    ]
    return root, dict(zip(VARIANTS, run_train_jobs(jobs, root)))


@pytest.mark.parametrize('name', VARIANTS)
def test_variants_train(name, variant_runs):
    root, jobs = variant_runs
    assert jobs[name]['returncode'] == 0, log_of(jobs[name])[-3000:]
    assert osp.isfile(root / name / 'epoch_1.pth')
    logs = [r for r in scalars(root / name) if 'loss_kd' in r]
    assert len(logs) == 4
    assert all(r[k] == r[k] for r in logs for k in LOSS_KEYS)  # not NaN


def test_training_without_the_hook_stops_and_names_it(cifar100_root, tmp_path):
    proc = run_tool(
        'tools/train.py',
        'configs/frskd/wrn16_2_cifar100.py',
        '--work-dir',
        str(tmp_path / 'nohook'),
        '--cfg-options',
        *tiny_options(cifar100_root),
        'custom_hooks=[]',
        check=False)
    assert proc.returncode != 0
    assert 'FRSKDHook' in proc.stderr
    assert not glob.glob(str(tmp_path / 'nohook' / '*.pth'))


def test_missing_dataset_folder_is_a_clear_error(tmp_path):
    proc = train(
        'configs/frskd/wrn16_2_cifar100.py',
        tmp_path / 'w',
        str(tmp_path / 'no_data'),
        check=False)
    assert proc.returncode != 0
    assert 'cifar-100-python' in proc.stderr and 'not found' in proc.stderr


def _train_tool(monkeypatch):
    """tools/train.py as a module, to call its main() in this process."""
    monkeypatch.setenv('LOCAL_RANK', '0')
    return load_tool('tools/train.py')


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
