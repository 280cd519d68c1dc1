"""tools/analysis_tools/frskd_study.py: the cells of a study, its jobs and
a tiny grid trained end to end."""
import json
import os
import os.path as osp

import pytest
from conftest import load_tool, write_image_folder

BASELINE = 'configs/baseline/wrn16_2_cifar100.py'
STABLE = 'configs/frskd_stable/wrn16_2_cifar100.py'


@pytest.fixture(scope='module')
def study():
    return load_tool('tools/analysis_tools/frskd_study.py')


def test_fractions_times_epochs_and_seeded_options(study, tmp_path):
    root = write_image_folder(
        tmp_path / 'data', splits=(('train', 4), ('test', 1)), num_classes=3)
    args = study.parse_args([
        '--arm', 'base', 'configs/demo/baseline_wrn16_2_digits.py', '--arm',
        'ft', 'configs/demo/frskd_wrn16_2_digits.py',
        'load_from=pre/seed{seed}/epoch_8.pth', '--fractions', '0.5', '1',
        '--epochs', '2', '--seeds', '0', '1', '2', '--data-root', root,
        '--work-dir',
        str(tmp_path / 'work')
    ])
    cells, datasets = study.study_cells(args)
    assert [c.name for _, c in cells] == ['frac0.5_2ep', 'frac1_2ep']
    jobs = study.make_jobs(args, cells, datasets)
    assert len(jobs) == 2 * 3 * 2
    assert {j['n_train'] for j in jobs if j['fraction'] == 0.5} == {6}
    ft = [j for j in jobs if j['arm'] == 'ft' and j['seed'] == 2]
    assert ft[0]['options'] == ['load_from=pre/seed2/epoch_8.pth']
    # The arms of one seed share the subset.
    pair = [j for j in jobs if j['seed'] == 1 and j['fraction'] == 0.5]
    assert len({j['ann_file'] for j in pair}) == 1


def test_a_tiny_grid_end_to_end(study, tmp_path):
    """Two arms (the CIFAR configs, run on an image folder) x one cell x
    two seeds, trained with tools/train.py; the JSON and PNG are written,
    curves are kept, and a second call reuses the finished runs."""
    root = write_image_folder(
        tmp_path / 'data', splits=(('train', 4), ('test', 1)))
    grid = tmp_path / 'grid.json'
    grid.write_text(
        json.dumps(
            dict(
                datasets=dict(tiny=root),
                centre=dict(
                    dataset='tiny',
                    per_class=2,
                    epochs=2,
                    batch=8,
                    lr=0.05,
                    schedule='constant'))))
    out = str(tmp_path / 'docs' / 'study')
    argv = [
        '--arm', 'baseline', BASELINE, '--arm', 'stable', STABLE, '--grid',
        str(grid), '--seeds', '0', '1', '--jobs', '2', '--workers', '0',
        '--curves', '--work-dir',
        str(tmp_path / 'work'), '--out', out
    ]
    report = study.main(argv)
    with open(out + '.json') as f:
        assert json.load(f) == json.loads(json.dumps(report))
    assert osp.getsize(out + '.png') > 10000
    assert report['failed'] == []
    [cell] = report['cells']
    assert cell['n_train'] == 20 and cell['epochs'] == 2
    assert cell['label'] == 'centre' and cell['lr'] == 0.05
    for arm in ('baseline', 'stable'):
        values = cell['arms'][arm]['values']
        assert len(values) == 2 and all(0 <= v <= 100 for v in values)
        curve = cell['arms'][arm]['curves'][1]
        assert [e for e, _ in curve] == [1, 2] and curve[-1][1] == values[1]
    assert len(cell['paired']['stable']['diffs']) == 2
    assert [e for e, _ in cell['paired']['stable']['curve_gap']['diffs']
            ] == [1, 2]
    run = tmp_path / 'work' / cell['name'] / 'stable' / 'seed1'
    with open(run / 'study_config.py') as f:
        text = f.read()
    assert "type='CustomDataset'" in text and 'param_scheduler = []' in text
    with open(run / 'result.json') as f:
        assert json.load(f)['metric'] == cell['arms']['stable']['values'][1]
    stamp = os.stat(run / 'result.json').st_mtime
    assert study.main(argv)['cells'] == report['cells']
    assert os.stat(run / 'result.json').st_mtime == stamp
    # A grid with one more cell, summarised without training: the finished
    # cell is reported, the new one is listed as missing and not trained.
    spec = json.loads(grid.read_text())
    spec['vary'] = dict(epochs=[3])
    grid.write_text(json.dumps(spec))
    partial = study.main(argv + ['--summarize-only'])
    assert partial['cells'] == report['cells']
    assert partial['missing'] == ['tiny_2pc_3ep_bs8_lr0.05_constant']
    assert not (tmp_path / 'work' / partial['missing'][0]).exists()
