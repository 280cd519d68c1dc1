"""tools/demo.py: reading the runs' logs and the mean/std over seeds."""
import os.path as osp

import pytest
from conftest import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def demo():
    return load_tool('tools/demo.py')


def test_mean_and_sample_std_over_seeds(demo):
    runs = {
        seed:
        dict(
            baseline=(b, 10.0 + seed, f'w/{seed}/baseline'),
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
    # Paired to the first model (the baseline), with a t-interval.
    paired = summary['frskd']['paired_to_baseline']
    assert paired['diffs'] == [1.0, 3.0, -1.0]
    assert paired['mean'] == 1.0
    assert 'paired_to_baseline' not in summary['baseline']
    assert 'minus baseline +1.00 (95 % CI -3.97 .. +5.97)' in table


def test_every_demo_shows_baseline_paper_frskd_and_the_stable_recipe(demo):
    for task in demo.DEMOS.values():
        names = [name for name, _ in task['runs']]
        assert names == ['baseline', 'frskd', 'stable']
        for _, config in task['runs']:
            assert osp.isfile(osp.join(ROOT, config)), config
