"""The README's demo: baseline vs FRSKD on real handwritten digits, on CPU.

1. Writes scikit-learn's 8x8 digits once to ``data/digits`` as 32x32 PNGs
   in MMPretrain's folder format (tools/dataset_converters/digits_to_folder.py)
   and canvases of those digits with per-pixel labels to
   ``data/digit_canvas`` in MMSeg's folder format
   (tools/dataset_converters/digit_canvas_to_seg.py).
2. Trains each baseline and its FRSKD twin with tools/train.py, exactly as
   a user would (classification: WRN-16-2; segmentation: a small FCN), once
   per seed, into ``<work-dir>/<task>/seed<N>/<baseline|frskd>``.
3. Prints test top-1 / val mIoU per run and, over several seeds, mean and
   sample standard deviation; writes them to ``<work-dir>/results.json``.

Usage:
    python tools/demo.py [--work-dir work_dirs/demo] [--seeds 0 1 2]
        [--tasks cls seg]
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

from frskd_mm.utils.json_io import write_json
from frskd_mm.utils.results import last_logged, mean_std, paired_difference

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Each demo: the data writer and its folder, the metric printed, the runs:
# the baseline, FRSKD with the paper's settings, and FRSKD with our stable
# recipe (docs/frskd_study.md). The first run is the reference of the
# paired differences.
DEMOS = {
    'cls':
    dict(
        title='WRN-16-2 on scikit-learn digits (test split)',
        writer='tools/dataset_converters/digits_to_folder.py',
        data_root='data/digits',
        metric='accuracy/top1',
        runs=(('baseline', 'configs/demo/baseline_wrn16_2_digits.py'),
              ('frskd', 'configs/demo/frskd_wrn16_2_digits.py'),
              ('stable', 'configs/demo/frskd_stable_wrn16_2_digits.py'))),
    'seg':
    dict(
        title='segmentation of digit canvases (val split)',
        writer='tools/dataset_converters/digit_canvas_to_seg.py',
        data_root='data/digit_canvas',
        metric='mIoU',
        runs=(('baseline', 'configs/demo/baseline_seg_digits.py'),
              ('frskd', 'configs/demo/frskd_seg_digits.py'),
              ('stable', 'configs/demo/frskd_stable_seg_digits.py'))),
}


def run_demo(demo: dict, work_root: str, seed: int) -> dict:
    """Train every run of ``demo`` with tools/train.py at ``seed``.

    Returns:
        dict: run name -> (metric, seconds, work directory).
    """
    results = {}
    for name, config in demo['runs']:
        work_dir = osp.join(work_root, name)
        print(
            f'\n=== Training {name}, seed {seed}: {config} -> {work_dir}',
            flush=True)
        start = time.time()
        subprocess.run(
            [
                sys.executable, 'tools/train.py', config, '--work-dir',
                work_dir, '--cfg-options', f'randomness.seed={seed}'
            ] + [
                f'{split}_dataloader.dataset.data_root={demo["data_root"]}'
                for split in ('train', 'val', 'test')
            ],
            check=True)
        results[name] = (last_logged(work_dir, demo['metric']),
                         time.time() - start, work_dir)
    return results


def summarize(runs: Dict[int, dict]) -> Dict[str, dict]:
    """Per model: the metric per seed, its mean and sample std, and (for
    every model but the first, the baseline) the paired difference to the
    baseline with its 95 % interval.

    Args:
        runs (dict): seed -> the result of :func:`run_demo`.
    """
    summary = {}
    seeds = sorted(runs)
    reference = None
    for name in next(iter(runs.values())):
        values = [runs[seed][name][0] for seed in seeds]
        mean, std = mean_std(values)
        summary[name] = dict(
            seeds=seeds,
            values=values,
            mean=mean,
            std=std,
            train_seconds=[runs[seed][name][1] for seed in seeds])
        if reference is None:
            reference = values
        else:
            summary[name]['paired_to_baseline'] = paired_difference(
                values, reference)
    return summary


def format_results(demo: dict, runs: Dict[int, dict]) -> str:
    """The printed table: one row per model and seed, then mean +- std."""
    metric = demo['metric'] + ' (%)'
    width = len(metric) + 2
    lines = [
        f"=== Demo results: {demo['title']}",
        f"{'model':<10}{'seed':>5}{metric:>{width}}"
        f"{'train time (s)':>16}  logs and checkpoints"
    ]
    for seed in sorted(runs):
        for name, (value, secs, work_dir) in runs[seed].items():
            lines.append(f'{name:<10}{seed:>5}{value:>{width}.2f}'
                         f'{secs:>16.0f}  {work_dir}')
    if len(runs) > 1:
        lines.append(f'mean +- sample std over seeds {sorted(runs)}:')
        for name, stats in summarize(runs).items():
            line = f"{name:<10}{stats['mean']:>10.2f} +- {stats['std']:.2f}"
            paired = stats.get('paired_to_baseline')
            if paired:
                low, high = paired['ci95']
                line += (f"   minus baseline {paired['mean']:+.2f} "
                         f"(95 % CI {low:+.2f} .. {high:+.2f})")
            lines.append(line)
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=[0],
        help='train every model once per seed (default 0)')
    parser.add_argument(
        '--tasks',
        nargs='+',
        choices=sorted(DEMOS),
        default=sorted(DEMOS),
        help='demos to run (default: cls seg)')
    args = parser.parse_args(argv)
    os.chdir(ROOT)

    runs = {}
    for task in args.tasks:
        demo = DEMOS[task]
        subprocess.run([sys.executable, demo['writer'], demo['data_root']],
                       check=True)
        runs[task] = {
            seed:
            run_demo(demo, osp.join(args.work_dir, task, f'seed{seed}'), seed)
            for seed in args.seeds
        }

    for task in args.tasks:
        print('\n' + format_results(DEMOS[task], runs[task]))
    out = write_json(
        osp.join(args.work_dir, 'results.json'), {
            task: dict(metric=DEMOS[task]['metric'], **summarize(runs[task]))
            for task in args.tasks
        })
    print(f'\nWritten {out}')


if __name__ == '__main__':
    main()
