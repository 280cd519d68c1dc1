"""frskd_mm.utils.logs: the one reader of MMEngine's scalars.json."""
import json

import pytest

from frskd_mm.utils.logs import find_scalar_logs, load_scalars, read_records

#: An epoch-based MMPretrain log (LoggerHook interval 10, 20 iterations per
#: epoch) as the Runner writes it.
CLS_LOG = [
    dict(
        lr=0.1,
        data_time=0.01,
        loss=2.3,
        loss_cls=1.2,
        time=0.2,
        epoch=1,
        iter=10,
        memory=0,
        step=10),
    dict(
        lr=0.1,
        data_time=0.01,
        loss=2.0,
        loss_cls=1.0,
        time=0.2,
        epoch=1,
        iter=20,
        memory=0,
        step=20),
    {
        'accuracy/top1': 31.5,
        'teacher/accuracy/top1': 33.0,
        'data_time': 0.0,
        'time': 0.05,
        'step': 1
    },
    dict(
        lr=0.05,
        data_time=0.01,
        loss=1.7,
        loss_cls=0.9,
        time=0.2,
        epoch=2,
        iter=30,
        memory=0,
        step=30),
]


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(
        (line if isinstance(line, str) else json.dumps(line)) + '\n'
        for line in lines))
    return str(path)


def test_split_as_mmpretrain_load_json_log(tmp_path):
    from mmpretrain.utils.analyze import load_json_log
    path = _write(tmp_path / 'scalars.json', CLS_LOG)
    assert load_scalars(path) == load_json_log(path)
    assert read_records(path) == CLS_LOG


def test_hierarchy_prefixes_and_records_without_lr(tmp_path):
    path = _write(
        tmp_path / 'scalars.json',
        [
            {
                'train/lr': 0.01,
                'train/decode.loss_ce': 1.5,
                'train/iter': 50,
                'step': 50
            },
            {
                'train/decode.loss_ce': 1.2,
                'step': 100
            },  # no lr, no iter
            {
                'val/mIoU': 12.5,
                'val/aAcc': 70.0,
                'step': 100
            },
            {
                'val/teacher/mIoU': 13.0,
                'step': 100
            },  # same step: merged
            {
                'no_step': 1
            },
        ])
    scalars = load_scalars(path)
    assert [r['step'] for r in scalars['train']] == [50, 100]
    assert scalars['train'][0] == {
        'lr': 0.01,
        'decode.loss_ce': 1.5,
        'iter': 50,
        'step': 50
    }
    assert scalars['val'] == [{
        'mIoU': 12.5,
        'aAcc': 70.0,
        'step': 100,
        'teacher/mIoU': 13.0
    }]


def test_sorted_by_step_and_later_values_win(tmp_path):
    path = _write(tmp_path / 'scalars.json', [
        dict(lr=0.1, loss=3.0, step=20),
        dict(lr=0.1, loss=4.0, step=10),
        dict(lr=0.1, loss=2.5, step=20)
    ])
    assert [(r['step'], r['loss']) for r in load_scalars(path)['train']] \
        == [(10, 4.0), (20, 2.5)]


def test_blank_lines_and_a_cut_last_line(tmp_path):
    path = _write(tmp_path / 'scalars.json',
                  [CLS_LOG[0], '', CLS_LOG[1], '{"lr": 0.1, "lo'])
    assert read_records(path) == CLS_LOG[:2]
    bad = _write(tmp_path / 'bad.json', ['{"lr": 0.1', CLS_LOG[0]])
    with pytest.raises(ValueError, match=r'bad.json:1 is not a JSON record'):
        read_records(bad)
    with pytest.raises(ValueError, match='not a JSON object'):
        read_records(_write(tmp_path / 'list.json', ['[1, 2]', '[3]']))


def test_find_scalar_logs(tmp_path):
    new = _write(tmp_path / '20240102_000000' / 'vis_data' / 'scalars.json',
                 CLS_LOG)
    old = _write(tmp_path / '20240101_000000' / 'vis_data' / 'scalars.json',
                 CLS_LOG)
    assert find_scalar_logs(str(tmp_path)) == [old, new]
    assert find_scalar_logs(str(tmp_path / '20240101_000000')) == [old]
    assert find_scalar_logs(new) == [new]
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='No MMEngine log in'):
        find_scalar_logs(str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        find_scalar_logs(str(tmp_path / 'absent'))
