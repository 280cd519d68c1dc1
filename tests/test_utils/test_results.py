"""frskd_mm.utils.results: final metrics and the statistics over seeds."""
import json
import math

import pytest

from frskd_mm.utils.results import (last_logged, mean_std, paired_difference,
                                    t_quantile_975)


def test_last_logged_reads_the_newest_log(tmp_path):
    for stamp, values in (('20260101_000000', [10.0]), ('20260102_000000',
                                                        [20.0, 30.0])):
        vis = tmp_path / stamp / 'vis_data'
        vis.mkdir(parents=True)
        with open(vis / 'scalars.json', 'w') as f:
            for step, value in enumerate(values):
                f.write(json.dumps({'loss': 1.0, 'step': step}) + '\n')
                f.write(json.dumps({'mIoU': value, 'step': step}) + '\n')
    assert last_logged(str(tmp_path), 'mIoU') == 30.0
    with pytest.raises(KeyError, match='never logged'):
        last_logged(str(tmp_path), 'accuracy/top1')
    with pytest.raises(FileNotFoundError, match='No MMEngine log'):
        last_logged(str(tmp_path / 'absent'), 'mIoU')


def test_last_logged_with_hierarchy_keys_and_a_cut_last_line(tmp_path):
    vis = tmp_path / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    records = [{
        'train/lr': 0.1,
        'train/loss': 2.0,
        'step': 10
    }, {
        'val/mIoU': 5.0,
        'step': 10
    }, {
        'train/lr': 0.1,
        'train/loss': 1.0,
        'step': 20
    }, {
        'val/mIoU': 7.5,
        'step': 20
    }]
    (vis /
     'scalars.json').write_text(''.join(json.dumps(r) + '\n'
                                        for r in records) + '{"train/lr": 0.')
    assert last_logged(str(tmp_path), 'mIoU') == 7.5
    assert last_logged(str(tmp_path), 'val/mIoU') == 7.5
    assert last_logged(str(tmp_path), 'loss') == 1.0


def test_mean_and_sample_std():
    assert mean_std([97.0]) == (97.0, 0.0)
    mean, std = mean_std([1.0, 2.0, 6.0])
    assert mean == 3.0
    assert std == pytest.approx(math.sqrt((4 + 1 + 9) / 2))


def test_paired_difference_and_its_t_interval():
    assert t_quantile_975(2) == pytest.approx(4.302653, abs=1e-6)
    d = paired_difference([91.0, 95.0, 90.0], [90.0, 92.0, 90.0])
    assert d['diffs'] == [1.0, 3.0, 0.0]
    assert d['mean'] == pytest.approx(4 / 3)
    std = math.sqrt(((1 - 4 / 3)**2 + (3 - 4 / 3)**2 + (4 / 3)**2) / 2)
    assert d['std'] == pytest.approx(std)
    half = 4.302653 * std / math.sqrt(3)
    assert d['ci95'] == pytest.approx([4 / 3 - half, 4 / 3 + half])
    assert paired_difference([1.0], [0.5])['ci95'] is None
    with pytest.raises(ValueError, match='one value per seed'):
        paired_difference([1.0, 2.0], [1.0])
