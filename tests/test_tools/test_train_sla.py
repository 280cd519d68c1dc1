"""FRSKD + SLA and SLA-SD end to end: tools/train.py on the CIFAR-100
fixture, tools/export_student.py to a plain MMPretrain model with the same
logits, and the batch-augment error before the first iteration."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import load_tool, write_cifar100
from tool_runs import ROOT, log_of, run_train_jobs, scalars, tiny_options

from frskd_mm.apis import init_model

CONFIGS = {
    'frskd/resnet18_cifar100_sla': {
        'loss_cls', 'loss_teacher', 'loss_joint', 'loss_teacher_joint',
        'loss_sla', 'loss_teacher_sla', 'loss_kd', 'loss_att'
    },
    'baseline/resnet18_cifar100_sla': {'loss_cls', 'loss_joint', 'loss_sla'},
}
MIXUP = [
    'model.train_cfg.augments.type=Mixup', 'model.train_cfg.augments.alpha=0.2'
]


def _work_dir(root, name):
    return osp.join(str(root), name.replace('/', '_'))


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """One epoch (2 iterations of 4 images and their 16 rotations) of each
    SLA config, and the FRSKD + SLA config with Mixup added, from one
    interpreter."""
    root = tmp_path_factory.mktemp('sla_runs')
    data = write_cifar100(root / 'cifar100', num_train=8, num_test=4)
    options = tiny_options(data) + ['train_dataloader.batch_size=4']
    jobs = {
        name:
        dict(argv=[
            f'configs/{name}.py', '--work-dir',
            _work_dir(root, name), '--cfg-options', *options
        ])
        for name in CONFIGS
    }
    jobs['mixup'] = dict(argv=[
        'configs/frskd/resnet18_cifar100_sla.py', '--work-dir',
        _work_dir(root, 'mixup'), '--cfg-options', *options, *MIXUP
    ])
    return root, run_train_jobs(jobs, root)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_sla_configs_train_and_validate(runs, name):
    root, jobs = runs
    assert jobs[name]['returncode'] == 0, log_of(jobs[name])[-3000:]
    work_dir = _work_dir(root, name)
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    records = scalars(work_dir)
    train_logs = [r for r in records if 'loss_cls' in r]
    assert [r['iter'] for r in train_logs] == [1, 2]
    for r in train_logs:
        assert CONFIGS[name] <= set(r)
        assert all(0 <= r[k] < float('inf') for k in CONFIGS[name])
        assert r['loss_joint'] > 0 and r['loss_sla'] > 0
    assert any('accuracy/top1' in r for r in records)


def test_batch_augments_stop_before_the_first_iteration(runs):
    root, jobs = runs
    job = jobs['mixup']
    assert job['returncode'] != 0
    log = log_of(job)
    assert "['Mixup'] is set (model.train_cfg.augments" in log
    assert 'data_preprocessor.batch_augments' in log
    work_dir = _work_dir(root, 'mixup')
    assert not scalars(work_dir)  # no iteration was logged
    assert not [f for f in os.listdir(work_dir) if f.endswith('.pth')]


# A fresh interpreter that never imports frskd_mm: the exported student's
# logits on the saved batch.
PLAIN = r'''
import sys
import torch
from mmpretrain.apis import init_model
cfg, ckpt, batch, out = sys.argv[1:5]
model = init_model(cfg, ckpt, device='cpu')
with torch.no_grad():
    logits = model(torch.load(batch))
assert 'frskd_mm' not in sys.modules, 'frskd_mm was imported'
torch.save(dict(logits=logits, type=type(model).__name__,
                head=type(model.head).__name__), out)
'''


def _eval_logits(config, checkpoint, batch):
    model = init_model(osp.join(ROOT, 'configs', f'{config}.py'), checkpoint)
    with torch.no_grad():
        return model.eval()(batch)


def test_exported_frskd_sla_student_is_plain_with_equal_logits(runs, tmp_path):
    root, jobs = runs
    name = 'frskd/resnet18_cifar100_sla'
    assert jobs[name]['returncode'] == 0
    ckpt = osp.join(_work_dir(root, name), 'epoch_1.pth')
    load_tool('tools/export_student.py').main([
        osp.join(ROOT, 'configs', f'{name}.py'), ckpt, '--out-dir',
        str(tmp_path)
    ])
    cfg = tmp_path / 'resnet18_cifar100_sla_student.py'
    student = tmp_path / 'resnet18_cifar100_sla_student.pth'
    text = cfg.read_text()
    assert 'frskd' not in text.lower() and 'SLA' not in text
    state = torch.load(student, map_location='cpu', weights_only=True)
    assert not [
        k for k in state['state_dict']
        if k.startswith(('neck.', 'head.joint_fc', 'head.teacher_joint_fc'))
    ]

    batch = torch.randn(
        3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    torch.save(batch, tmp_path / 'batch.pt')
    subprocess.run([
        sys.executable, '-c', PLAIN,
        str(cfg),
        str(student),
        str(tmp_path / 'batch.pt'),
        str(tmp_path / 'plain.pt')
    ],
                   check=True,
                   cwd=str(tmp_path),
                   env=dict(os.environ, PYTHONPATH=''))
    plain = torch.load(tmp_path / 'plain.pt', weights_only=True)
    assert (plain['type'], plain['head']) == ('ImageClassifier',
                                              'LinearClsHead')
    expected = _eval_logits(name, ckpt, batch)
    torch.testing.assert_close(plain['logits'], expected)
    assert expected.std() > 0


def test_exported_sla_sd_student_has_equal_logits(runs, tmp_path):
    """The SLA-SD twin exports the same way (its joint classifier dropped);
    its backbone is MMPretrain's, so the student needs no frskd_mm."""
    from mmpretrain.apis import init_model as plain_init
    root, jobs = runs
    name = 'baseline/resnet18_cifar100_sla'
    assert jobs[name]['returncode'] == 0
    ckpt = osp.join(_work_dir(root, name), 'epoch_1.pth')
    tool = load_tool('tools/export_student.py')
    cfg_path, ckpt_path, removed, needs_frskd = tool.export(
        osp.join(ROOT, 'configs', f'{name}.py'), ckpt, str(tmp_path))
    assert removed == 2 and not needs_frskd  # joint_fc.{weight,bias}
    plain = plain_init(cfg_path, ckpt_path, device='cpu').eval()
    assert type(plain).__name__ == 'ImageClassifier'
    batch = torch.randn(
        3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = plain(batch)
    torch.testing.assert_close(logits, _eval_logits(name, ckpt, batch))
