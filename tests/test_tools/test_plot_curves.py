"""tools/analysis_tools/plot_curves.py: MMEngine JSON logs -> one PNG."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from conftest import load_tool
from matplotlib.image import imread

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools/analysis_tools/plot_curves.py')
ITERS_PER_EPOCH = 20


def _tool():
    return load_tool('tools/analysis_tools/plot_curves.py')


pc = _tool()


def write_launch(work_dir, timestamp, records):
    """One launch's ``<work_dir>/<timestamp>/vis_data/scalars.json``."""
    folder = osp.join(str(work_dir), timestamp, 'vis_data')
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, 'scalars.json'), 'w') as f:
        for r in records:
            f.write(json.dumps(r) + '\n')


def cls_records(epochs, frskd, start_epoch=1, teacher=False, offset=0.0):
    """Epoch-based classification records as MMEngine writes them: a train
    record every 10 iterations (step = global iteration), then the
    validation record of the epoch (step = epoch)."""
    out = []
    for e in range(start_epoch, start_epoch + epochs):
        for i in (10, 20):
            step = (e - 1) * ITERS_PER_EPOCH + i
            r = dict(
                lr=0.1,
                data_time=0.01,
                time=0.1,
                epoch=e,
                iter=step,
                step=step)
            if frskd:
                r.update(
                    loss_cls=2.0 / step + offset,
                    loss_teacher=1.5 / step,
                    loss_kd=0.3 + 0.01 * e,
                    loss_att=0.2 - 0.01 * e)
                r['loss'] = sum(r[k] for k in pc.LOSS_TERMS)
            else:
                r['loss'] = 2.0 / step + offset
            out.append(r)
        val = {
            'accuracy/top1': 10.0 * e,
            'data_time': 0.0,
            'time': 0.1,
            'step': e
        }
        if teacher:
            val['teacher/accuracy/top1'] = 10.0 * e + 5
        out.append(val)
    return out


def seg_records(iters, val_interval=100):
    """Iteration-based MMSeg records: decode.* losses, mIoU at iterations,
    logged with log_with_hierarchy (train/ and val/ prefixes)."""
    out = []
    for step in range(50, iters + 1, 50):
        out.append({
            'train/lr': 0.01,
            'train/decode.loss_ce': 3.0 / step,
            'train/decode.acc_seg': 50.0,
            'train/aux.loss_ce': 0.5,
            'train/decode.loss_teacher': 2.0 / step,
            'train/decode.loss_kd': 0.0 if step < 200 else 0.1,
            'train/decode.loss_att': 0.0 if step < 200 else 0.05,
            'train/loss': 4.0 / step,
            'train/iter': step,
            'step': step
        })
        if step % val_interval == 0:
            out.append({
                'val/aAcc': 80.0,
                'val/mIoU': step / 10,
                'val/mAcc': 60.0,
                'val/teacher/mIoU': step / 9,
                'step': step
            })
    return out


def check_png(path, shape):
    img = imread(str(path))
    assert img.shape[:2] == shape
    rgb = img[..., :3].reshape(-1, 3)
    assert rgb.std(0).max() > 0.05  # not a blank canvas
    assert len(np.unique(rgb, axis=0)) > 20  # lines in several colours


@pytest.fixture
def cls_runs(tmp_path):
    baseline, frskd = tmp_path / 'baseline', tmp_path / 'frskd'
    write_launch(baseline, '20240101_000000', cls_records(4, frskd=False))
    write_launch(frskd, '20240101_010000',
                 cls_records(4, frskd=True, teacher=True))
    return str(baseline), str(frskd)


def test_baseline_vs_frskd_classification_png(cls_runs, tmp_path, capsys):
    out = tmp_path / 'plots' / 'curves.png'
    assert pc.main([
        *cls_runs, '--labels', 'baseline', 'FRSKD', '--out',
        str(out), '--dpi', '40'
    ]) == str(out)
    check_png(out, (8 * 40, 15 * 40))
    printed = capsys.readouterr().out
    assert 'baseline: 8 training and 4 validation records' in printed

    baseline, frskd = (pc.load_run(w) for w in cls_runs)
    # A baseline logs only the total loss: drawn as loss_cls, labelled so.
    label, steps, values = pc.loss_series(baseline, 'loss_cls')
    assert label == 'loss (total)' and steps[:2] == [10, 20]
    assert all(
        pc.loss_series(baseline, t) is None
        for t in ('loss_teacher', 'loss_kd', 'loss_att'))
    for term in pc.LOSS_TERMS:
        label, steps, values = pc.loss_series(frskd, term)
        assert label == term and len(steps) == 8
    assert pc.choose_metric([baseline, frskd]) == 'accuracy/top1'
    assert pc.metric_series(
        frskd, 'teacher/accuracy/top1') == ([1, 2, 3,
                                             4], [15.0, 25.0, 35.0, 45.0])
    assert pc.metric_series(baseline, 'teacher/accuracy/top1') == ([], [])
    assert frskd.val_by_epoch


def test_segmentation_logs(tmp_path):
    work_dir = tmp_path / 'seg_frskd'
    write_launch(work_dir, '20240101_000000', seg_records(400))
    run = pc.load_run(str(work_dir))
    assert pc.loss_series(run, 'loss_cls')[0] == 'decode.loss_ce'
    assert pc.loss_series(run, 'loss_kd')[0] == 'decode.loss_kd'
    assert pc.choose_metric([run]) == 'mIoU'
    assert pc.metric_series(run, 'mIoU')[0] == [100, 200, 300, 400]
    assert pc.metric_series(run,
                            'teacher/mIoU')[1][-1] == pytest.approx(400 / 9)
    assert not run.val_by_epoch  # MMSeg validates by iteration
    out = tmp_path / 'seg.png'
    pc.main([str(work_dir), '--out', str(out), '--dpi', '30'])
    check_png(out, (8 * 30, 15 * 30))


def test_resumed_run_is_stitched_and_fresh_rerun_replaces(tmp_path):
    work_dir = tmp_path / 'frskd'
    # Launch 1 ran 3 epochs; its epoch-3 records are then lost by resuming
    # from epoch_2.pth (launch 2, which runs epochs 3-4).
    write_launch(work_dir, '20240101_000000',
                 cls_records(3, frskd=True, offset=100.0))
    write_launch(work_dir, '20240102_000000',
                 cls_records(2, frskd=True, start_epoch=3))
    # A later tools/test.py launch logs no training record: ignored.
    write_launch(work_dir, '20240103_000000', [])
    run = pc.load_run(str(work_dir))
    assert len(run.sources) == 2
    steps = [r['step'] for r in run.train]
    assert steps == [10, 20, 30, 40, 50, 60, 70, 80]
    cls = {r['step']: r['loss_cls'] for r in run.train}
    assert cls[40] > 100 and cls[50] < 100  # epoch 3 is launch 2's
    assert [r['step'] for r in run.val] == [1, 2, 3, 4]

    # Started again from scratch in the same work dir: only it remains.
    write_launch(work_dir, '20240104_000000', cls_records(1, frskd=True))
    run = pc.load_run(str(work_dir))
    assert [r['step'] for r in run.train] == [10, 20]
    assert [r['step'] for r in run.val] == [1]
    # One launch folder can be given directly.
    one = pc.load_run(str(work_dir / '20240101_000000'))
    assert [r['step'] for r in one.val] == [1, 2, 3]


def test_clear_errors(tmp_path, cls_runs):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='No MMEngine log in'):
        pc.main([cls_runs[0], str(empty), '--out', str(tmp_path / 'x.png')])
    with pytest.raises(FileNotFoundError, match='does not exist'):
        pc.main([str(tmp_path / 'missing')])
    test_only = tmp_path / 'test_only'
    write_launch(test_only, '20240101_000000', [])
    with pytest.raises(FileNotFoundError, match='No training record'):
        pc.load_run(str(test_only))
    with pytest.raises(ValueError, match='not logged'):
        pc.main([
            cls_runs[0], '--metric', 'mIoU', '--out',
            str(tmp_path / 'x.png')
        ])
    with pytest.raises(SystemExit):
        pc.main([*cls_runs, '--labels', 'only-one'])
    assert not (tmp_path / 'x.png').exists()

    # From the shell: non-zero exit status and the reason, no traceback.
    proc = subprocess.run(
        [sys.executable, TOOL, str(empty)],
        capture_output=True,
        text=True,
        cwd=str(tmp_path))
    assert proc.returncode != 0
    assert 'No MMEngine log in' in proc.stderr
    assert 'Traceback' not in proc.stderr
