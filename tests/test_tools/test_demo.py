"""tools/demo.py: reading the runs' logs and the mean/std over seeds."""
import json
import os.path as osp

import pytest
from conftest import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def demo():
    return load_tool('tools/demo.py')


def test_last_metric_reads_the_newest_log(demo, tmp_path):
    for stamp, values in (('20260101_000000', [10.0]),
                          ('20260102_000000', [20.0, 30.0])):
        vis = tmp_path / stamp / 'vis_data'
        vis.mkdir(parents=True)
        with open(vis / 'scalars.json', 'w') as f:
            for step, value in enumerate(values):
                f.write(json.dumps({'loss': 1.0, 'step': step}) + '\n')
                f.write(json.dumps({'mIoU': value, 'step': step}) + '\n')
    assert demo.last_metric(str(tmp_path), 'mIoU') == 30.0
    with pytest.raises(KeyError, match='never logged'):
        demo.last_metric(str(tmp_path), 'accuracy/top1')
    with pytest.raises(FileNotFoundError, match='No MMEngine log'):
        demo.last_metric(str(tmp_path / 'absent'), 'mIoU')


def test_mean_and_sample_std_over_seeds(demo):
    assert demo.mean_std([97.0]) == (97.0, 0.0)
    mean, std = demo.mean_std([1.0, 2.0, 6.0])
    assert mean == 3.0
    assert std == pytest.approx(((4 + 1 + 9) / 2)**0.5)

    runs = {
        seed: dict(baseline=(b, 10.0 + seed, f'w/{seed}/baseline'),
                   frskd=(f, 20.0, f'w/{seed}/frskd'))
        for seed, b, f in ((0, 98.0, 99.0), (1, 96.0, 99.0), (2, 97.0, 96.0))
    }
    summary = demo.summarize(runs)
    assert summary['baseline']['values'] == [98.0, 96.0, 97.0]
    assert summary['baseline']['mean'] == 97.0
    assert summary['baseline']['std'] == pytest.approx(1.0)
    assert summary['frskd']['mean'] == 98.0
    assert summary['frskd']['std'] == pytest.approx(3**0.5)
    assert summary['baseline']['train_seconds'] == [10.0, 11.0, 12.0]

    table = demo.format_results(demo.DEMOS['seg'], runs)
    assert 'mIoU (%)' in table and 'w/2/frskd' in table
    assert 'baseline       97.00 +- 1.00' in table
    assert 'frskd          98.00 +- 1.73' in table
    # One seed: no spread line.
    assert '+-' not in demo.format_results(demo.DEMOS['cls'], {0: runs[0]})
