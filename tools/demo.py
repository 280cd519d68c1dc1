"""The README's demo: baseline vs FRSKD on real handwritten digits, on CPU.

1. Writes scikit-learn's 8x8 digits once to ``data/digits`` as 32x32 PNGs
   in MMPretrain's folder format (tools/dataset_converters/digits_to_folder.py)
   and, for segmentation, canvases of those digits with per-pixel labels
   to ``data/digit_canvas`` in MMSeg's folder format
   (tools/dataset_converters/digit_canvas_to_seg.py).
2. Trains each baseline and its FRSKD twin with tools/train.py, exactly as
   a user would (classification: WRN-16-2; segmentation: a small
   DeepLabV3+-style model).
3. Prints test top-1 / val mIoU and where logs and checkpoints are.

Usage:
    python tools/demo.py [--work-dir work_dirs/demo] [--seed 0] [--tasks cls seg]
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Each demo: the data writer and its folder, the metric printed, the runs.
DEMOS = {
    'cls': dict(
        title='WRN-16-2 on scikit-learn digits (test split)',
        writer='tools/dataset_converters/digits_to_folder.py',
        data_root='data/digits',
        metric='accuracy/top1',
        runs=(('baseline', 'configs/demo/baseline_wrn16_2_digits.py'),
              ('frskd', 'configs/demo/frskd_wrn16_2_digits.py'))),
    'seg': dict(
        title='segmentation of digit canvases (val split)',
        writer='tools/dataset_converters/digit_canvas_to_seg.py',
        data_root='data/digit_canvas',
        metric='mIoU',
        runs=(('baseline', 'configs/demo/baseline_seg_digits.py'),
              ('frskd', 'configs/demo/frskd_seg_digits.py'))),
}


def last_metric(work_dir: str, key: str) -> float:
    """The last value of ``key`` in the newest run's scalars.json."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    if not logs:
        raise FileNotFoundError(f'No MMEngine log found in {work_dir}.')
    value = None
    with open(logs[-1]) as f:
        for line in f:
            record = json.loads(line)
            if key in record:
                value = record[key]
    if value is None:
        raise KeyError(f'{key} was never logged in {logs[-1]}.')
    return value


def run_demo(demo: dict, work_root: str, seed: int) -> dict:
    """Write the data once, train every run with tools/train.py."""
    subprocess.run([sys.executable, demo['writer'], demo['data_root']],
                   check=True)
    results = {}
    for name, config in demo['runs']:
        work_dir = osp.join(work_root, name)
        print(f'\n=== Training {name}: {config} -> {work_dir}', flush=True)
        start = time.time()
        subprocess.run([
            sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
            '--cfg-options', f'randomness.seed={seed}'
        ] + [
            f'{split}_dataloader.dataset.data_root={demo["data_root"]}'
            for split in ('train', 'val', 'test')
        ], check=True)
        results[name] = (last_metric(work_dir, demo['metric']),
                         time.time() - start, work_dir)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--tasks', nargs='+', choices=sorted(DEMOS),
                        default=['cls'],
                        help='demos to run (default: cls; the segmentation '
                        'demo is not yet sized for a 10-minute CPU run)')
    args = parser.parse_args()
    os.chdir(ROOT)

    tasks = args.tasks
    results = {}
    for task in tasks:
        work_root = args.work_dir if task == 'cls' else osp.join(
            args.work_dir, task)
        results[task] = run_demo(DEMOS[task], work_root, args.seed)

    for task in tasks:
        demo = DEMOS[task]
        print(f"\n=== Demo results: {demo['title']}, seed {args.seed}")
        print(f"{'model':<10}{demo['metric'] + ' (%)':>16}"
              f"{'train time (s)':>16}  logs and checkpoints")
        for name, (value, secs, work_dir) in results[task].items():
            print(f'{name:<10}{value:>16.2f}{secs:>16.0f}  {work_dir}')


if __name__ == '__main__':
    main()
