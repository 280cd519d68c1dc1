"""Training-step time of a baseline and its FRSKD twin, through the Runner.

Where ``benchmark.py`` times the model's training step alone, this runs
``tools/train.py`` itself (MMEngine's Runner with its hooks, the data
pipeline and frskd_mm's run-time guards) for both configs, alternating
``baseline, frskd, baseline, frskd, ...`` for ``--rounds`` rounds, and
reads each iteration's ``time`` (MMEngine's ``IterTimerHook``: data loading
plus ``train_step``) from the run's ``scalars.json``. Per round it takes the
median over the iterations after ``--warmup``; it reports the ratio of the
pooled medians and the median of the per-round ratios.

Without real data, ``--fake-cifar100`` writes random images in the official
pickled CIFAR-100 layout, sized so that one epoch is exactly
``--warmup + --iters`` iterations, and points the configs at it.

Example (ResNet18-CIFAR at batch 64, 2 threads, as in docs/benchmark.md):
    python tools/analysis_tools/train_speed.py \\
        configs/baseline/resnet18_cifar100.py \\
        configs/frskd/resnet18_cifar100.py --fake-cifar100 \\
        --batch-size 64 --iters 15 --warmup 3 --rounds 3 --threads 2 \\
        --out work_dirs/train_speed.json
"""
import argparse
import os
import os.path as osp
import pickle
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(
        description='Baseline vs FRSKD training-step time through the '
        'Runner (tools/train.py), alternating runs.')
    parser.add_argument('baseline_config')
    parser.add_argument('frskd_config')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument(
        '--iters',
        type=int,
        default=15,
        help='timed iterations per run (default 15)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=3,
        help='untimed first iterations per run (default 3)')
    parser.add_argument(
        '--rounds',
        type=int,
        default=3,
        help='runs per config, alternating (default 3)')
    parser.add_argument(
        '--threads',
        type=int,
        default=2,
        help='OMP_NUM_THREADS of each run (default 2)')
    parser.add_argument(
        '--fake-cifar100',
        action='store_true',
        help='train on random images in the CIFAR-100 '
        'layout (no real data needed)')
    parser.add_argument(
        '--work-dir',
        help='where the runs go (default: a '
        'temporary folder)')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value overrides passed to both runs')
    args = parser.parse_args(argv)
    if min(args.batch_size, args.iters, args.rounds, args.threads) < 1 or \
            args.warmup < 0:
        parser.error('--batch-size, --iters, --rounds and --threads must be '
                     '>= 1 and --warmup >= 0.')
    return args


def write_fake_cifar100(root: str,
                        num_train: int,
                        num_test: int = 8,
                        seed: int = 0) -> str:
    """Random images in the official ``cifar-100-python`` pickles.

    Returns:
        str: ``root`` (the ``data_root`` of the CIFAR-100 configs).
    """
    rng = np.random.default_rng(seed)
    folder = osp.join(root, 'cifar-100-python')
    os.makedirs(folder, exist_ok=True)
    for name, n in (('train', num_train), ('test', num_test)):
        data = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump(
                {
                    'data': data,
                    'fine_labels': rng.integers(0, 100, n).tolist()
                },
                f,
                protocol=2)
    with open(osp.join(folder, 'meta'), 'wb') as f:
        pickle.dump({'fine_label_names': [f'c{i}' for i in range(100)]},
                    f,
                    protocol=2)
    return root


def iteration_times(work_dir: str) -> List[float]:
    """The ``time`` of every logged training iteration of a run's newest
    log (:mod:`frskd_mm.utils.logs`)."""
    from frskd_mm.utils.logs import find_scalar_logs, load_scalars
    log = find_scalar_logs(work_dir)[-1]
    return [
        float(r['time']) for r in load_scalars(log)['train'] if 'time' in r
    ]


def train_once(config: str, work_dir: str, args: argparse.Namespace,
               options: List[str]) -> List[float]:
    """Run tools/train.py for one epoch of ``warmup + iters`` iterations
    (logged every iteration); return the iteration times."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(args.threads),
        MKL_NUM_THREADS=str(args.threads))
    command = [
        sys.executable,
        osp.join(ROOT, 'tools',
                 'train.py'), config, '--work-dir', work_dir, '--no-validate',
        '--cfg-options', f'train_dataloader.batch_size={args.batch_size}',
        'train_dataloader.num_workers=0', 'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=1000000',
        'default_hooks.checkpoint.save_last=False', *options
    ]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} failed:\n'
                           f'{result.stderr[-3000:]}')
    times = iteration_times(work_dir)
    if len(times) < args.warmup + 1:
        raise RuntimeError(
            f'{config} logged {len(times)} iteration(s), fewer than '
            f'--warmup {args.warmup} + 1; the data has too few images for '
            f'--batch-size {args.batch_size}.')
    return times


def run(args: argparse.Namespace, log=print) -> Dict:
    """Alternate the two configs for ``args.rounds`` rounds."""
    work_root = args.work_dir or tempfile.mkdtemp(prefix='train_speed_')
    options = list(args.cfg_options)
    if args.fake_cifar100:
        data = write_fake_cifar100(
            osp.join(work_root, 'data'),
            args.batch_size * (args.warmup + args.iters))
        options += [f'train_dataloader.dataset.data_root={data}']
    configs = dict(baseline=args.baseline_config, frskd=args.frskd_config)
    medians: Dict[str, List[float]] = {n: [] for n in configs}
    times: Dict[str, List[List[float]]] = {n: [] for n in configs}
    load_before = os.getloadavg()
    for r in range(args.rounds):
        for name, config in configs.items():
            start = time.time()
            its = train_once(config, osp.join(work_root, f'{name}_{r}'), args,
                             options)[args.warmup:]
            times[name].append(its)
            medians[name].append(float(np.median(its)))
            log(f'round {r + 1}/{args.rounds} {name}: median '
                f'{medians[name][-1] * 1e3:.0f} ms over {len(its)} '
                f'iterations (run took {time.time() - start:.0f} s)')
    pooled = {n: float(np.median(sum(times[n], []))) for n in configs}
    per_round = [f / b for b, f in zip(medians['baseline'], medians['frskd'])]
    return dict(
        settings=dict(
            vars(args),
            load_avg_before=list(load_before),
            load_avg_after=list(os.getloadavg()),
            cpu_count=os.cpu_count(),
            timing='IterTimerHook time per iteration (data + '
            'train_step), median after the warm-up iterations'),
        iteration_times_s=times,
        round_medians_s=medians,
        median_s=pooled,
        ratio_of_medians=pooled['frskd'] / pooled['baseline'],
        ratio_per_round=per_round,
        ratio_median_of_rounds=float(np.median(per_round)))


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    result = run(args, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f'baseline {result["median_s"]["baseline"] * 1e3:.0f} ms, FRSKD '
          f'{result["median_s"]["frskd"] * 1e3:.0f} ms per iteration; '
          f'FRSKD/baseline {result["ratio_of_medians"]:.2f}x (rounds: ' +
          ', '.join(f'{x:.2f}x' for x in result['ratio_per_round']) + ')')
    if args.out:
        from frskd_mm.utils.json_io import write_json
        write_json(args.out, result)
        print(f'Results written to {args.out}')
    return result


if __name__ == '__main__':
    main()
