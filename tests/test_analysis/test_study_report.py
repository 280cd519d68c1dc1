"""frskd_mm.analysis.study_report: pairing by seed, curves, table, figure."""
import os.path as osp

import pytest

from frskd_mm.analysis.study_report import (curve_gap, format_table,
                                            plot_forest, summarize, verdict)


def _result(arm, seed, metric, curve=None):
    return dict(
        arm=arm,
        seed=seed,
        metric=metric,
        label='centre',
        cell=dict(epochs=2, per_class=5),
        cell_name='5pc_2ep',
        n_train=20,
        teacher_metric=None,
        curve=curve)


def test_summary_pairs_arms_by_seed_and_reports_failures():
    results = [
        _result('baseline', 0, 90.0),
        _result('baseline', 1, 92.0),
        _result('baseline', 2, 94.0),
        _result('frskd', 0, 91.0),
        _result('frskd', 1, 95.0),
        _result('frskd', 2, None)
    ]
    [cell] = summarize(results, ['baseline', 'frskd'], 'baseline')
    assert cell['n_train'] == 20 and cell['epochs'] == 2
    assert cell['label'] == 'centre' and cell['name'] == '5pc_2ep'
    assert cell['arms']['baseline']['mean'] == 92.0
    assert cell['arms']['baseline']['std'] == pytest.approx(2.0)
    assert cell['arms']['frskd']['values'] == [91.0, 95.0]
    assert cell['arms']['frskd']['failed_seeds'] == [2]
    paired = cell['paired']['frskd']
    assert paired['seeds'] == [0, 1]
    assert paired['diffs'] == [1.0, 3.0]
    assert paired['mean'] == 2.0
    # t(0.975, 1) = 12.706: the interval of two seeds is wide.
    assert paired['ci95'] == pytest.approx([2 - 12.7062, 2 + 12.7062],
                                           abs=1e-3)
    assert verdict(paired) == 'level'
    table = format_table([cell], ['baseline', 'frskd'], 'baseline')
    assert '92.00 +- 2.00' in table and '+2.00' in table


def test_verdict_reads_the_interval():
    assert verdict(dict(ci95=[0.5, 2.0])) == 'above'
    assert verdict(dict(ci95=[-3.0, -0.1])) == 'below'
    assert verdict(dict(ci95=[-1.0, 1.0])) == 'level'
    assert verdict(dict(ci95=None)) == 'level'


def test_curve_gap_is_the_worst_mean_shortfall_over_shared_epochs():
    base = {0: [[1, 50.0], [2, 80.0]], 1: [[1, 60.0], [2, 90.0]]}
    arm = {0: [[1, 40.0], [2, 82.0]], 1: [[1, 56.0], [2, 92.0]]}
    gap = curve_gap(arm, base)
    assert gap['diffs'] == [[1, -7.0], [2, 2.0]]
    assert gap['worst'] == -7.0 and gap['at'] == 1
    assert curve_gap(arm, None) is None
    assert curve_gap({5: [[1, 1.0]]}, base) is None
    results = [
        _result('baseline', s, c[-1][1], curve=c) for s, c in base.items()
    ] + [_result('frskd', s, c[-1][1], curve=c) for s, c in arm.items()]
    [cell] = summarize(results, ['baseline', 'frskd'], 'baseline')
    assert cell['paired']['frskd']['curve_gap']['worst'] == -7.0
    assert 'worst gap of the curves -7.00 at epoch 1' in format_table(
        [cell], ['baseline', 'frskd'], 'baseline')


def test_forest_plot_is_written(tmp_path):
    results = [
        _result(arm, s, 90.0 + s + k)
        for k, arm in enumerate(['baseline', 'frskd', 'stable'])
        for s in range(3)
    ]
    summary = summarize(results, ['baseline', 'frskd', 'stable'], 'baseline')
    out = str(tmp_path / 'forest.png')
    plot_forest(summary, ['baseline', 'frskd', 'stable'], 'baseline', out,
                'title')
    assert osp.getsize(out) > 10000
