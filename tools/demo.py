"""The README's demo: baseline vs FRSKD on real handwritten digits, on CPU.

1. Writes scikit-learn's 8x8 digits once to ``data/digits`` as 32x32 PNGs
   in MMPretrain's folder format (tools/dataset_converters/digits_to_folder.py).
2. Trains the baseline and the FRSKD twin (WRN-16-2) with tools/train.py,
   exactly as a user would.
3. Prints both test top-1 accuracies and where logs and checkpoints are.

Usage:
    python tools/demo.py [--work-dir work_dirs/demo] [--seed 0]
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
RUNS = (('baseline', 'configs/demo/baseline_wrn16_2_digits.py'),
        ('frskd', 'configs/demo/frskd_wrn16_2_digits.py'))


def last_metric(work_dir: str, key: str = 'accuracy/top1') -> float:
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/digits')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    os.chdir(ROOT)

    subprocess.run([sys.executable,
                    'tools/dataset_converters/digits_to_folder.py',
                    args.data_root], check=True)
    results = {}
    for name, config in RUNS:
        work_dir = osp.join(args.work_dir, name)
        print(f'\n=== Training {name}: {config} -> {work_dir}', flush=True)
        start = time.time()
        subprocess.run([
            sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
            '--cfg-options', f'randomness.seed={args.seed}',
            f'train_dataloader.dataset.data_root={args.data_root}',
            f'val_dataloader.dataset.data_root={args.data_root}',
            f'test_dataloader.dataset.data_root={args.data_root}'
        ], check=True)
        results[name] = (last_metric(work_dir), time.time() - start,
                         work_dir)

    print('\n=== Demo results: WRN-16-2 on scikit-learn digits '
          f'(test split, seed {args.seed})')
    print(f"{'model':<10}{'test top-1 (%)':>16}{'train time (s)':>16}  "
          'logs and checkpoints')
    for name, (acc, secs, work_dir) in results.items():
        print(f'{name:<10}{acc:>16.2f}{secs:>16.0f}  {work_dir}')


if __name__ == '__main__':
    main()
