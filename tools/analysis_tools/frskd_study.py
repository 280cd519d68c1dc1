"""Where does FRSKD help? Train arms over training-set size x schedule x seed.

Each arm is a config (plus optional ``KEY=VALUE`` overrides), e.g. the
baseline, FRSKD with the paper's settings and a variant. For every cell of
the grid (fraction of the training set x schedule length in epochs) and
every seed, each arm is trained with ``tools/train.py`` on the same
class-stratified subset of the training images (drawn from the seed, so the
arms of one seed are paired), from the same initialisation seed. The
metric of a run is the one validated after its last epoch (never the best
epoch: the study's data have no separate validation split).

It prints, and writes to ``<out>.json``, per cell and arm the metric per
seed with its mean and sample standard deviation, and for every arm the
paired difference to the reference arm (the first; ``--reference``) with
its two-sided 95 % t-interval. ``<out>.png`` plots the metric against the
number of training images, one panel per schedule, one line per arm with a
band of +- one standard deviation, and the paired differences below.

Runs already finished in ``--work-dir`` (their ``result.json``) are reused,
so an interrupted study continues where it stopped.

Example (the study of docs/frskd_study.md)::

    python tools/analysis_tools/frskd_study.py --fractions 0.1 0.25 1 \\
        --epochs 10 30 --seeds 0 1 2 --jobs 2 --out docs/study/digits

Arms (default: baseline, FRSKD with the paper's settings and our stable
recipe on the digits) are given as ``--arm NAME CONFIG [KEY=VALUE ...]``;
the overrides are passed to ``tools/train.py --cfg-options``::

    --arm frskd_no_att configs/demo/frskd_wrn16_2_digits.py \\
        model.head.beta=0

Configs must be epoch-based classification configs with an image-folder
training set (MMPretrain's ``CustomDataset`` layout).
"""
import argparse
import json
import os
import os.path as osp
import random
import shlex
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

from frskd_mm.utils.json_io import write_json
from frskd_mm.utils.results import last_logged, mean_std, paired_difference

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

DEFAULT_ARMS = (
    ('baseline', 'configs/demo/baseline_wrn16_2_digits.py'),
    ('frskd', 'configs/demo/frskd_wrn16_2_digits.py'),
    ('stable', 'configs/demo/frskd_stable_wrn16_2_digits.py'),
)
DIGITS_WRITER = 'tools/dataset_converters/digits_to_folder.py'
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp')
METRIC = 'accuracy/top1'
TEACHER_METRIC = 'teacher/accuracy/top1'


def write_subset(image_dir: str, fraction: float, seed: int,
                 out_file: str) -> int:
    """Write an annotation file of a class-stratified random subset.

    Each class keeps ``round(fraction * n_class)`` of its images (at least
    one), drawn with ``random.Random(seed)``; lines are
    ``<class>/<file> <label>`` in MMPretrain's ``ann_file`` format, with
    labels the sorted class folders' indices.

    Args:
        image_dir (str): ``<data_root>/<data_prefix>``, one folder per class.
        fraction (float): Fraction in (0, 1] of each class to keep.
        seed (int): Seed of the draw.
        out_file (str): Where to write the annotation file.

    Returns:
        int: Number of images in the subset.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f'fractions must be in (0, 1], got {fraction}.')
    classes = sorted(
        d for d in os.listdir(image_dir)
        if not d.startswith('.') and osp.isdir(osp.join(image_dir, d)))
    if not classes:
        raise FileNotFoundError(f'No class folders in {image_dir!r}.')
    rng = random.Random(seed)
    lines = []
    for label, name in enumerate(classes):
        files = sorted(
            f for f in os.listdir(osp.join(image_dir, name))
            if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith('.'))
        keep = max(1, round(fraction * len(files)))
        lines += [
            f'{name}/{f} {label}' for f in sorted(rng.sample(files, keep))
        ]
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    with open(out_file, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return len(lines)


def study_config(config: str,
                 *,
                 ann_file: str,
                 epochs: int,
                 seed: int,
                 curves: bool = False,
                 data_root: Optional[str] = None):
    """The arm's config for one run of the study.

    Trains on ``ann_file`` for ``epochs`` epochs at ``seed``; cosine or
    step schedulers are stretched to the new length; validation runs after
    the last epoch only (after every epoch with ``curves``, which also
    switches on the self-teacher's ``TeacherAccuracy`` for FRSKD models);
    one checkpoint is kept, no best checkpoint. ``data_root`` replaces the
    data root of every split.

    Returns:
        mmengine.Config: The config to dump and train.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    old_epochs = cfg.get('train_cfg', {}).get('max_epochs')
    if old_epochs is None:
        raise ValueError(
            f'{config}: the study needs an epoch-based config '
            '(train_cfg.max_epochs); iteration-based configs are not '
            'supported.')
    if data_root is not None:
        for split in ('train', 'val', 'test'):
            if cfg.get(f'{split}_dataloader'):
                cfg[f'{split}_dataloader'].dataset.data_root = data_root
    dataset = cfg.train_dataloader.dataset
    image_dir = osp.join(
        dataset.get('data_root', ''),
        dataset.get('data_prefix', '') or '')
    dataset.ann_file = osp.abspath(ann_file)
    dataset.data_prefix = osp.abspath(image_dir)
    dataset.data_root = ''
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = 1 if curves else epochs
    schedulers = cfg.get('param_scheduler') or []
    for scheduler in (schedulers
                      if isinstance(schedulers, list) else [schedulers]):
        if 'T_max' in scheduler and scheduler.get('by_epoch', True):
            scheduler.T_max = epochs
        if scheduler.get('end') == old_epochs:
            scheduler.end = epochs
        if 'milestones' in scheduler:
            scheduler.milestones = [
                round(m * epochs / old_epochs) for m in scheduler.milestones
            ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=epochs, max_keep_ckpts=1)
    cfg.randomness = dict(seed=seed)
    neck = cfg.model.get('neck') or {}
    if curves and neck.get('type') == 'FRSKDNeck':
        neck.eval_teacher = True
        evaluators = cfg.val_evaluator if isinstance(
            cfg.val_evaluator, list) else [cfg.val_evaluator]
        cfg.val_evaluator = list(evaluators) + [dict(type='TeacherAccuracy')]
    return cfg


def train_image_dir(config: str, data_root: Optional[str] = None) -> str:
    """``<data_root>/<data_prefix>`` of the config's training set."""
    from mmengine.config import Config
    dataset = Config.fromfile(config).train_dataloader.dataset
    prefix = dataset.get('data_prefix', '') or ''
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path', '')
    root = dataset.get('data_root', '') if data_root is None else data_root
    return osp.join(root, prefix)


def run_one(job: dict, threads: int) -> dict:
    """Train one run (its ``config_file`` written) unless its
    ``result.json`` exists; return the result.

    A failed run (non-zero exit) gives ``metric: None`` and the tail of its
    log under ``error``; it is not cached, so the next study retries it.
    """
    result_file = osp.join(job['work_dir'], 'result.json')
    if osp.isfile(result_file):
        with open(result_file) as f:
            return json.load(f)
    cmd = [
        sys.executable, 'tools/train.py', job['config_file'], '--work-dir',
        job['work_dir']
    ]
    if job['options']:
        cmd += ['--cfg-options'] + list(job['options'])
    env = dict(
        os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    log_file = osp.join(job['work_dir'], 'train.log')
    start = time.time()
    with open(log_file, 'w') as log:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    result = dict(
        arm=job['arm'],
        fraction=job['fraction'],
        epochs=job['epochs'],
        seed=job['seed'],
        n_train=job['n_train'],
        seconds=time.time() - start,
        command=shlex.join(cmd),
        metric=None,
        teacher_metric=None)
    if proc.returncode != 0:
        with open(log_file) as f:
            result['error'] = f.read()[-2000:]
        print(
            f"FAILED {job['work_dir']} (exit {proc.returncode}); see "
            f'{log_file}',
            flush=True)
        return result
    result['metric'] = last_logged(job['work_dir'], METRIC)
    try:
        result['teacher_metric'] = last_logged(job['work_dir'], TEACHER_METRIC)
    except KeyError:
        pass
    write_json(result_file, result)
    print(
        f"{job['arm']:<16} {job['epochs']:>3} ep  {job['fraction']:<5} "
        f"seed {job['seed']}: {result['metric']:.2f}  "
        f"({result['seconds']:.0f} s)",
        flush=True)
    return result


def summarize(results: Sequence[dict], arms: Sequence[str],
              reference: str) -> List[dict]:
    """One entry per (epochs, fraction) cell: per arm the metric per seed,
    mean and sample std; per other arm the paired difference to
    ``reference`` over the seeds where both finished."""
    cells: Dict[Tuple[int, float], Dict[str, Dict[int, dict]]] = {}
    for r in results:
        cells.setdefault((r['epochs'], r['fraction']),
                         {}).setdefault(r['arm'], {})[r['seed']] = r
    summary = []
    for (epochs, fraction), by_arm in sorted(cells.items()):
        cell = dict(
            epochs=epochs,
            fraction=fraction,
            n_train=next(iter(next(iter(
                by_arm.values())).values()))['n_train'],
            arms={},
            paired={})
        for arm in arms:
            runs = by_arm.get(arm, {})
            done = {
                s: r['metric']
                for s, r in sorted(runs.items()) if r['metric'] is not None
            }
            entry = dict(
                seeds=list(done),
                values=list(done.values()),
                failed_seeds=[s for s in sorted(runs) if s not in done])
            if done:
                entry['mean'], entry['std'] = mean_std(done.values())
            teacher = [
                r['teacher_metric'] for r in runs.values()
                if r.get('teacher_metric') is not None
            ]
            if teacher:
                entry['teacher_mean'], entry['teacher_std'] = mean_std(teacher)
            cell['arms'][arm] = entry
        ref = cell['arms'].get(reference, {})
        for arm in arms:
            if arm == reference or not cell['arms'][arm].get('values'):
                continue
            seeds = [
                s for s in cell['arms'][arm]['seeds']
                if s in ref.get('seeds', [])
            ]
            if not seeds:
                continue
            pick = dict(
                zip(cell['arms'][arm]['seeds'], cell['arms'][arm]['values']))
            base = dict(zip(ref['seeds'], ref['values']))
            cell['paired'][arm] = dict(
                seeds=seeds,
                **paired_difference([pick[s] for s in seeds],
                                    [base[s] for s in seeds]))
        summary.append(cell)
    return summary


def format_table(summary: Sequence[dict], arms: Sequence[str],
                 reference: str) -> str:
    """The printed table: mean +- std per arm, then paired differences."""
    lines = [
        f"{'epochs':>6} {'train imgs':>10}  " + ''.join(f'{arm:>18}'
                                                        for arm in arms)
    ]
    for cell in summary:
        row = f"{cell['epochs']:>6} {cell['n_train']:>10}  "
        for arm in arms:
            entry = cell['arms'].get(arm, {})
            row += (f"{entry['mean']:>10.2f} +-{entry['std']:>5.2f} "
                    if 'mean' in entry else f"{'-':>18}")
        lines.append(row)
    lines.append(f'paired difference to {reference} (mean, 95 % CI):')
    for cell in summary:
        for arm, d in cell['paired'].items():
            ci = (f"[{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]"
                  if d['ci95'] else '(one seed)')
            lines.append(f"{cell['epochs']:>6} {cell['n_train']:>10}  "
                         f"{arm:<16} {d['mean']:+6.2f}  {ci}  seeds "
                         f"{d['seeds']}")
    return '\n'.join(lines)


def plot_study(summary: Sequence[dict],
               arms: Sequence[str],
               reference: str,
               out_file: str,
               title: str = '') -> None:
    """Metric vs training-set size per schedule (bands: +- 1 std), and the
    paired differences to ``reference`` with their 95 % intervals. A study
    of a single cell (an ablation) is drawn as :func:`plot_cell`."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if len(summary) == 1:
        plot_cell(summary[0], arms, reference, out_file, title)
        return
    schedules = sorted({c['epochs'] for c in summary})
    fig, axes = plt.subplots(
        2,
        len(schedules),
        figsize=(5.5 * len(schedules), 7.5),
        squeeze=False,
        sharex=True,
        gridspec_kw=dict(height_ratios=[3, 2]))
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for col, epochs in enumerate(schedules):
        cells = [c for c in summary if c['epochs'] == epochs]
        top, bottom = axes[0][col], axes[1][col]
        for k, arm in enumerate(arms):
            pts = [(c['n_train'], c['arms'][arm]['mean'],
                    c['arms'][arm]['std']) for c in cells
                   if 'mean' in c['arms'].get(arm, {})]
            if not pts:
                continue
            x, m, s = zip(*pts)
            color = colors[k % len(colors)]
            top.plot(x, m, 'o-', color=color, label=arm)
            top.fill_between(
                x, [a - b for a, b in zip(m, s)],
                [a + b for a, b in zip(m, s)],
                color=color,
                alpha=0.15)
            diffs = [(c['n_train'], c['paired'][arm]) for c in cells
                     if arm in c['paired']]
            if diffs:
                x = [n * (1 + 0.04 * (k - 1)) for n, _ in diffs]
                mean = [d['mean'] for _, d in diffs]
                err = [[
                    d['mean'] - d['ci95'][0] if d['ci95'] else 0
                    for _, d in diffs
                ],
                       [
                           d['ci95'][1] - d['mean'] if d['ci95'] else 0
                           for _, d in diffs
                       ]]
                bottom.errorbar(
                    x,
                    mean,
                    yerr=err,
                    fmt='o-',
                    color=color,
                    capsize=3,
                    label=f'{arm} - {reference}')
        top.set_xscale('log')
        top.set_title(f'{epochs} epochs')
        top.set_ylabel(f'{METRIC} (%)')
        top.grid(alpha=0.3)
        top.legend(loc='lower right')
        bottom.axhline(0, color='k', lw=0.8)
        bottom.set_xlabel('training images')
        bottom.set_ylabel(f'paired difference to {reference} (points)')
        bottom.grid(alpha=0.3)
        bottom.legend(loc='lower right', fontsize='small')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def plot_cell(cell: dict,
              arms: Sequence[str],
              reference: str,
              out_file: str,
              title: str = '') -> None:
    """One cell, one row per arm: the metric of every seed with the mean
    +- std (left), the paired difference to ``reference`` with its 95 %
    interval (right)."""
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(12, 1.2 + 0.45 * len(arms)), sharey=True)
    rows = list(range(len(arms)))[::-1]
    for row, arm in zip(rows, arms):
        entry = cell['arms'].get(arm, {})
        if entry.get('values'):
            left.plot(
                entry['values'], [row] * len(entry['values']),
                'o',
                color='0.6',
                ms=4)
            left.errorbar(
                entry['mean'],
                row,
                xerr=entry['std'],
                fmt='D',
                color='C0',
                capsize=3)
        d = cell['paired'].get(arm)
        if d:
            ci = d['ci95'] or [d['mean'], d['mean']]
            right.errorbar(
                d['mean'],
                row,
                xerr=[[d['mean'] - ci[0]], [ci[1] - d['mean']]],
                fmt='D',
                color='C3' if ci[1] < 0 else 'C2' if ci[0] > 0 else 'C7',
                capsize=3)
            right.plot(
                d['diffs'], [row] * len(d['diffs']), 'o', color='0.6', ms=4)
    left.set_yticks(rows, arms)
    left.set_xlabel(f'{METRIC} (%): seeds (grey), mean +- std')
    left.grid(alpha=0.3)
    right.axvline(0, color='k', lw=0.8)
    right.set_xlabel(f'paired difference to {reference} (points): seeds, '
                     'mean and 95 % CI')
    right.grid(alpha=0.3)
    fig.suptitle(title or f"{cell['n_train']} training images, "
                 f"{cell['epochs']} epochs")
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--arm',
        nargs='+',
        action='append',
        metavar='NAME CONFIG [K=V]',
        help='an arm: name, config and --cfg-options overrides; repeat. '
        'Default: ' + ', '.join(f'{n} ({c})' for n, c in DEFAULT_ARMS))
    parser.add_argument(
        '--reference',
        help='arm the others are paired '
        'with (default: the first)')
    parser.add_argument(
        '--fractions',
        type=float,
        nargs='+',
        default=[0.1, 0.25, 1.0],
        help='fractions of the training set (per class)')
    parser.add_argument(
        '--epochs',
        type=int,
        nargs='+',
        default=[10, 30],
        help='schedule lengths in epochs')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--data-root',
        help="data root of every arm's "
        'splits (default: the configs\')')
    parser.add_argument(
        '--curves',
        action='store_true',
        help='validate after every epoch (and the '
        "self-teacher's accuracy) for training curves")
    parser.add_argument(
        '--jobs',
        type=int,
        default=1,
        help='runs trained at once; each gets cpu_count/jobs '
        'threads')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch threads per run (default: cpu_count / '
        'jobs); lower it when other jobs share the machine')
    parser.add_argument('--work-dir', default='work_dirs/frskd_study')
    parser.add_argument(
        '--out',
        default=None,
        help='prefix of the JSON and PNG written '
        '(default: <work-dir>/study)')
    parser.add_argument('--title', default='', help='title of the figure')
    args = parser.parse_args(argv)
    arms = args.arm or [list(a) for a in DEFAULT_ARMS]
    for arm in arms:
        if len(arm) < 2:
            parser.error(f'--arm needs NAME CONFIG [KEY=VALUE ...], got '
                         f'{arm}.')
    if len({a[0] for a in arms}) != len(arms):
        parser.error('arm names must be unique.')
    if len(args.seeds) < 3:
        print(
            f'Note: {len(args.seeds)} seed(s); accuracy claims need 3 or '
            'more (the 95 % t-interval of 2 seeds is +- 9 standard '
            'deviations of the differences).',
            flush=True)
    args.arms = arms
    args.reference = args.reference or arms[0][0]
    if args.reference not in [a[0] for a in arms]:
        parser.error(f'--reference {args.reference} is not an arm.')
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    warnings.filterwarnings('ignore', message='pkg_resources')
    os.chdir(ROOT)
    configs = {a[1] for a in args.arms}
    if args.data_root is None and any('digits' in c for c in configs) \
            and not osp.isdir('data/digits'):
        subprocess.run([sys.executable, DIGITS_WRITER, 'data/digits'],
                       check=True)
    image_dirs = {train_image_dir(c, args.data_root) for c in configs}
    if len(image_dirs) != 1:
        raise ValueError('All arms must train on the same images, got '
                         f'{sorted(image_dirs)}.')
    image_dir = image_dirs.pop()
    # One subset per (fraction, seed), shared by every schedule and arm.
    subsets = {}
    for fraction in args.fractions:
        for seed in args.seeds:
            ann_file = osp.join(args.work_dir, 'subsets',
                                f'frac{fraction:g}_seed{seed}.txt')
            subsets[fraction, seed] = (ann_file,
                                       write_subset(image_dir, fraction, seed,
                                                    ann_file))
    jobs = []
    for epochs in args.epochs:
        for fraction in args.fractions:
            for seed in args.seeds:
                ann_file, n_train = subsets[fraction, seed]
                for name, config, *options in args.arms:
                    jobs.append(
                        dict(
                            arm=name,
                            config=config,
                            options=options,
                            epochs=epochs,
                            fraction=fraction,
                            seed=seed,
                            n_train=n_train,
                            ann_file=ann_file,
                            curves=args.curves,
                            work_dir=osp.join(args.work_dir, f'{epochs}ep',
                                              f'frac{fraction:g}', name,
                                              f'seed{seed}')))
    # Configs are written here, not in the pool: MMEngine's Config parsing
    # is not thread-safe.
    for job in jobs:
        job['config_file'] = osp.join(job['work_dir'], 'study_config.py')
        if not osp.isfile(osp.join(job['work_dir'], 'result.json')):
            os.makedirs(job['work_dir'], exist_ok=True)
            study_config(
                job['config'],
                ann_file=job['ann_file'],
                epochs=job['epochs'],
                seed=job['seed'],
                curves=job['curves'],
                data_root=args.data_root).dump(job['config_file'])
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    start = time.time()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda j: run_one(j, threads), jobs))
    names = [a[0] for a in args.arms]
    summary = summarize(results, names, args.reference)
    print('\n' + format_table(summary, names, args.reference))
    out = args.out or osp.join(args.work_dir, 'study')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    report = dict(
        command='python tools/analysis_tools/frskd_study.py ' +
        shlex.join(sys.argv[1:] if argv is None else argv),
        metric=METRIC,
        reference=args.reference,
        arms={a[0]: dict(config=a[1], options=a[2:])
              for a in args.arms},
        fractions=args.fractions,
        epochs=args.epochs,
        seeds=args.seeds,
        wall_seconds=time.time() - start,
        cells=summary,
        failed=[
            dict(
                arm=r['arm'],
                epochs=r['epochs'],
                fraction=r['fraction'],
                seed=r['seed']) for r in results if r['metric'] is None
        ])
    write_json(out + '.json', report)
    plot_study(summary, names, args.reference, out + '.png', args.title)
    print(f'\nWritten {out}.json and {out}.png')
    return report


if __name__ == '__main__':
    main()
