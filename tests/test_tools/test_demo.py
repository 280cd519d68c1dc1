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


@pytest.mark.parametrize('task', ['cls', 'seg'])
def test_runs_validate_and_save_once_at_the_end_and_train_as_configured(
        demo, task):
    from mmengine.config import Config
    for _, config in demo.DEMOS[task]['runs']:
        cfg = Config.fromfile(osp.join(ROOT, config))
        before = cfg.to_dict()
        demo.evaluate_at_the_end(cfg)
        after = cfg.to_dict()
        end = before['train_cfg'].get('max_epochs') or \
            before['train_cfg']['max_iters']
        assert after['train_cfg']['val_interval'] == end
        assert after['default_hooks']['checkpoint']['interval'] == end
        for changed in (after, before):
            changed['train_cfg'].pop('val_interval')
            changed['default_hooks']['checkpoint'].pop('interval')
        assert after == before  # schedule, model, data and losses as is


def _tiny_run(demo, name, config, work_dir, data_root):
    return demo.Run('cls', name, config, 0, str(work_dir), [
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=8',
        'val_dataloader.batch_size=8', 'default_hooks.logger.interval=1'
    ] + [
        f'{split}_dataloader.dataset.data_root={data_root}'
        for split in ('train', 'val', 'test')
    ])


def test_runs_train_side_by_side_in_children_with_a_bar_each(
        demo, digits_root, tmp_path, monkeypatch):
    """Two runs at once, each in a forked child: the parent sees each
    run's progress, its logs stay in its work directory, and it validates
    once."""
    events = []
    update = demo._update

    def record(progress, bar, event, label):
        events.append((label, event))
        update(progress, bar, event, label)

    monkeypatch.setattr(demo, '_update', record)
    runs = [
        _tiny_run(demo, name, osp.join(ROOT, config), tmp_path / name,
                  digits_root)
        for name, config in demo.DEMOS['cls']['runs'][:2]
    ]
    metrics = demo.train_runs(runs, jobs=2, threads=1, verbose=False)
    for run in runs:
        # 20 images, batch 8: 3 iterations, then one validation.
        assert [e for label, e in events
                if label == run.label] == [['total', '3'], ['iter', '1'],
                                           ['iter', '2'], ['iter', '3'],
                                           ['phase', 'validating'],
                                           ['phase', 'training']]
        assert 0 <= metrics[run] <= 100
        assert run.seconds > 0 and run.cpu_seconds > 0
        assert metrics[run] == demo.last_logged(run.work_dir, 'accuracy/top1')
        with open(run.log) as f:
            log = f.read()
        assert 'Config:' in log and 'Epoch(val) [1]' in log
        assert osp.isfile(osp.join(run.work_dir, 'epoch_1.pth'))


def test_a_failed_run_stops_the_demo_and_names_its_log(demo, tmp_path, capsys):
    run = _tiny_run(demo, 'baseline',
                    osp.join(ROOT, demo.DEMOS['cls']['runs'][0][1]),
                    tmp_path / 'baseline', str(tmp_path / 'no_data'))
    with pytest.raises(
            SystemExit, match='cls baseline seed 0 failed.*'
            'console.log'):
        demo.train_runs([run], jobs=2, threads=1, verbose=False)
    # The end of the run's log is shown: the data check's message, which
    # names the config key.
    assert 'train_dataloader.dataset.data_root' in capsys.readouterr().err
