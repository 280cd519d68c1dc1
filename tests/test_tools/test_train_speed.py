"""tools/analysis_tools/train_speed.py: step time through the Runner."""
import json
import os.path as osp
import pickle

import pytest
from conftest import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/analysis_tools/train_speed.py')


def test_fake_cifar100_is_what_mmpretrain_reads(tool, tmp_path):
    from mmpretrain.datasets import CIFAR100
    root = tool.write_fake_cifar100(str(tmp_path), num_train=12)
    with open(osp.join(root, 'cifar-100-python', 'train'), 'rb') as f:
        assert pickle.load(f)['data'].shape == (12, 3072)

    class NoChecksum(CIFAR100):  # random files cannot match the md5

        def _check_integrity(self):
            return True

    dataset = NoChecksum(data_root=root, split='train', pipeline=[])
    assert len(dataset) == 12 and len(dataset.metainfo['classes']) == 100


def test_iteration_times_read_the_train_records(tool, tmp_path):
    log = tmp_path / '20261130_000000' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    records = [
        dict(lr=0.1, time=0.5, data_time=0.1, step=1),
        dict(lr=0.1, time=0.25, data_time=0.1, step=2), {
            'accuracy/top1': 3.0,
            'step': 1
        }
    ]
    log.write_text('\n'.join(json.dumps(r) for r in records) + '\n')
    assert tool.iteration_times(str(tmp_path)) == [0.5, 0.25]
    with pytest.raises(FileNotFoundError, match='No MMEngine log'):
        tool.iteration_times(str(tmp_path / 'nothing'))


def test_two_runs_through_tools_train(tool, tmp_path):
    out = tmp_path / 'speed.json'
    result = tool.main([
        osp.join(ROOT, 'configs/baseline/wrn16_2_cifar100.py'),
        osp.join(ROOT, 'configs/frskd/wrn16_2_cifar100.py'), '--fake-cifar100',
        '--batch-size', '4', '--iters', '2', '--warmup', '1', '--rounds', '1',
        '--threads', '1', '--work-dir',
        str(tmp_path / 'runs'), '--out',
        str(out)
    ])
    assert json.loads(out.read_text())['ratio_of_medians'] == \
        result['ratio_of_medians'] > 0
    for name in ('baseline', 'frskd'):
        assert [len(t) for t in result['iteration_times_s'][name]] == [2]
    # The FRSKD run trained with its self-teacher: its log has the terms.
    frskd_log = next((tmp_path / 'runs' /
                      'frskd_0').glob('*/vis_data/scalars.json')).read_text()
    assert 'loss_kd' in frskd_log and 'loss_att' in frskd_log
