"""tools/analysis_tools/frskd_study.py: subsets, run configs, statistics and a
tiny grid trained end to end."""
import json
import os
import os.path as osp

import pytest
from conftest import load_tool, write_image_folder

BASELINE = 'configs/demo/baseline_wrn16_2_digits.py'
FRSKD = 'configs/demo/frskd_wrn16_2_digits.py'


@pytest.fixture(scope='module')
def study():
    return load_tool('tools/analysis_tools/frskd_study.py')


def _read_subset(path):
    with open(path) as f:
        return [line.split() for line in f.read().splitlines()]


def test_subset_is_stratified_seeded_and_skips_hidden_files(study, tmp_path):
    root = write_image_folder(
        tmp_path / 'data', splits=(('train', 10), ), num_classes=3)
    image_dir = osp.join(root, 'train')
    (tmp_path / 'data' / 'train' / '0' / '.hidden.png').write_bytes(b'')
    os.makedirs(tmp_path / 'data' / 'train' / '.ipynb_checkpoints')
    out = str(tmp_path / 'subset.txt')
    assert study.write_subset(image_dir, 0.3, seed=0, out_file=out) == 9
    lines = _read_subset(out)
    assert sorted({label for _, label in lines}) == ['0', '1', '2']
    for label in '012':
        files = [f for f, lab in lines if lab == label]
        assert len(files) == 3 and all(
            f.startswith(f'{label}/') for f in files)
    assert not any('.hidden' in f for f, _ in lines)
    again = str(tmp_path / 'again.txt')
    study.write_subset(image_dir, 0.3, seed=0, out_file=again)
    assert _read_subset(again) == lines
    other = str(tmp_path / 'other.txt')
    study.write_subset(image_dir, 0.3, seed=1, out_file=other)
    assert _read_subset(other) != lines
    # Every class keeps at least one image; the whole set is the whole set.
    assert study.write_subset(image_dir, 0.01, 0, out) == 3
    assert study.write_subset(image_dir, 1.0, 0, out) == 30
    with pytest.raises(ValueError, match=r'\(0, 1\]'):
        study.write_subset(image_dir, 0.0, 0, out)


def test_study_config_stretches_the_schedule_and_validates_once(
        study, tmp_path):
    ann = str(tmp_path / 'subset.txt')
    cfg = study.study_config(BASELINE, ann_file=ann, epochs=3, seed=7)
    assert cfg.train_cfg.max_epochs == 3 and cfg.train_cfg.val_interval == 3
    assert cfg.param_scheduler.T_max == 3
    assert cfg.train_dataloader.dataset.ann_file == osp.abspath(ann)
    assert cfg.train_dataloader.dataset.data_prefix == osp.abspath(
        'data/digits/train')
    assert cfg.randomness == dict(seed=7)
    assert cfg.default_hooks.checkpoint.interval == 3
    assert 'save_best' not in cfg.default_hooks.checkpoint
    assert 'eval_teacher' not in cfg.model.neck

    cfg = study.study_config(
        FRSKD,
        ann_file=ann,
        epochs=5,
        seed=0,
        curves=True,
        data_root='/elsewhere')
    assert cfg.train_cfg.val_interval == 1
    assert cfg.model.neck.eval_teacher is True
    assert [e['type']
            for e in cfg.val_evaluator] == ['Accuracy', 'TeacherAccuracy']
    assert cfg.val_dataloader.dataset.data_root == '/elsewhere'
    assert cfg.train_dataloader.dataset.data_prefix == '/elsewhere/train'


def test_iteration_based_configs_are_refused(study, tmp_path):
    with pytest.raises(ValueError, match='epoch-based'):
        study.study_config(
            'configs/demo/baseline_seg_digits.py',
            ann_file='x.txt',
            epochs=2,
            seed=0)


def _result(arm, seed, metric, fraction=0.5, epochs=2):
    return dict(
        arm=arm,
        seed=seed,
        metric=metric,
        fraction=fraction,
        epochs=epochs,
        n_train=20,
        teacher_metric=None)


def test_summary_pairs_arms_by_seed_and_reports_failures(study):
    results = [
        _result('baseline', 0, 90.0),
        _result('baseline', 1, 92.0),
        _result('baseline', 2, 94.0),
        _result('frskd', 0, 91.0),
        _result('frskd', 1, 95.0),
        _result('frskd', 2, None)
    ]
    [cell] = study.summarize(results, ['baseline', 'frskd'], 'baseline')
    assert cell['n_train'] == 20
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
    table = study.format_table([cell], ['baseline', 'frskd'], 'baseline')
    assert '92.00 +- 2.00' in table and '+2.00' in table


def test_a_tiny_grid_end_to_end(study, tmp_path):
    """Two arms x one cell x two seeds, trained with tools/train.py; the
    JSON and PNG are written and a second call reuses the finished runs."""
    root = write_image_folder(
        tmp_path / 'data', splits=(('train', 4), ('test', 1)))
    small = [
        'train_dataloader.batch_size=8', 'val_dataloader.batch_size=8',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False'
    ]
    out = str(tmp_path / 'docs' / 'study')
    argv = [
        '--arm', 'baseline', BASELINE, *small, '--arm', 'frskd', FRSKD, *small,
        '--data-root', root, '--fractions', '0.5', '--epochs', '1', '--seeds',
        '0', '1', '--jobs', '2', '--work-dir',
        str(tmp_path / 'work'), '--out', out
    ]
    report = study.main(argv)
    with open(out + '.json') as f:
        assert json.load(f) == json.loads(json.dumps(report))
    assert osp.getsize(out + '.png') > 10000
    assert report['failed'] == []
    [cell] = report['cells']
    assert cell['n_train'] == 20 and cell['epochs'] == 1
    for arm in ('baseline', 'frskd'):
        values = cell['arms'][arm]['values']
        assert len(values) == 2 and all(0 <= v <= 100 for v in values)
    assert len(cell['paired']['frskd']['diffs']) == 2
    assert report['arms']['frskd']['options'] == small
    run = tmp_path / 'work' / '1ep' / 'frac0.5' / 'frskd' / 'seed1'
    with open(run / 'result.json') as f:
        assert json.load(f)['metric'] == cell['arms']['frskd']['values'][1]
    stamp = os.stat(run / 'result.json').st_mtime
    assert study.main(argv)['cells'] == report['cells']
    assert os.stat(run / 'result.json').st_mtime == stamp
