"""Where does FRSKD help? Train arms over a grid of regimes and seeds.

Each arm is a config (plus optional ``KEY=VALUE`` overrides), e.g. the
baseline, FRSKD with the paper's settings and a recipe. Each cell of the
grid is a training regime (:mod:`frskd_mm.analysis.study_grid`): the data
set, the training images per class (or a fraction of them), the epochs,
and optionally batch size, learning rate and schedule. For every cell and
every seed each arm is trained with ``tools/train.py`` on the same
class-stratified subset of the training images (drawn from the seed, so
the arms of one seed are paired), from the same initialisation seed. The
metric of a run is the one validated after its last epoch (never the best
epoch: the study's data have no separate validation split).

It prints, and writes to ``<out>.json``, per cell and arm the metric per
seed with its mean and sample standard deviation, and for every arm the
paired difference to the reference arm (the first; ``--reference``) with
its two-sided 95 % t-interval; ``<out>.png`` draws them, one row per cell.
With ``--curves`` every epoch is validated and the JSON also holds each
run's curve and, per arm, the worst gap of its mean curve below the
reference's.

Runs already finished in ``--work-dir`` (their ``result.json``) are reused,
so an interrupted study continues where it stopped. Runs start cheapest
cell first; ``--summarize-only`` trains nothing and reports the cells whose
runs have all finished, listing the others under ``missing``.

Two ways to give the cells:

- ``--fractions 0.1 1 --epochs 5 15``: every fraction of the configs' own
  training set with every schedule length;
- ``--grid GRID.json``: a centre, factors varied one at a time around it,
  and corners (see :mod:`frskd_mm.analysis.study_grid`), e.g.
  ``configs/study/regime_grid.json``. Its data sets are image folders
  (``train/<class>/``, ``test/<class>/``); configs whose own data set is
  not one (the CIFAR configs) are switched to it as a user would run them
  on their own data (:func:`~frskd_mm.analysis.study_grid.
  as_folder_dataset`).

Example (the default arms on the digits)::

    python tools/analysis_tools/frskd_study.py --fractions 0.1 0.25 1 \\
        --epochs 10 30 --seeds 0 1 2 --jobs 2 --out docs/study/digits

Arms are given as ``--arm NAME CONFIG [KEY=VALUE ...]``; the overrides are
passed to ``tools/train.py --cfg-options``, with ``{seed}`` replaced by
the run's seed (e.g. ``load_from=work_dirs/pre/seed{seed}/epoch_8.pth``
to fine-tune each seed's own checkpoint)::

    --arm frskd_no_att configs/demo/frskd_wrn16_2_digits.py \\
        model.head.beta=0

Configs must be epoch-based classification configs.
"""
import argparse
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Sequence, Tuple

from frskd_mm.analysis.study_grid import (Cell, expand_grid, load_grid,
                                          study_config, write_subset)
from frskd_mm.analysis.study_report import format_table, plot_forest, summarize
from frskd_mm.utils.json_io import write_json
from frskd_mm.utils.logs import find_scalar_logs, load_scalars
from frskd_mm.utils.results import last_logged

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

DEFAULT_ARMS = (
    ('baseline', 'configs/demo/baseline_wrn16_2_digits.py'),
    ('frskd', 'configs/demo/frskd_wrn16_2_digits.py'),
    ('stable', 'configs/demo/frskd_stable_wrn16_2_digits.py'),
)
#: Writers of the image folders the studies use, by folder.
DATA_WRITERS = {
    'data/digits': ['tools/dataset_converters/digits_to_folder.py'],
    'data/mnist5k':
    ['tools/dataset_converters/digits_to_folder.py', '--source', 'mnist5k'],
}
METRIC = 'accuracy/top1'
TEACHER_METRIC = 'teacher/accuracy/top1'


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
    result = {
        k: job[k]
        for k in ('arm', 'label', 'cell', 'cell_name', 'fraction', 'epochs',
                  'seed', 'n_train')
    }
    result.update(
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
    if job['curves']:
        result['curve'] = validation_curve(job['work_dir'])
    write_json(result_file, result)
    print(
        f"{job['arm']:<16} {job['cell_name']:<36} seed {job['seed']}: "
        f"{result['metric']:.2f}  ({result['seconds']:.0f} s)",
        flush=True)
    return result


def validation_curve(work_dir: str) -> List[List[float]]:
    """``[[epoch, metric], ...]`` of a run's newest log."""
    scalars = load_scalars(find_scalar_logs(work_dir)[-1])
    return [[int(r['step']), r[METRIC]] for r in scalars['val'] if METRIC in r]


def study_cells(args) -> Tuple[List[Tuple[str, Cell]], dict]:
    """The labelled cells of the study and the data sets' folders."""
    if args.grid:
        spec = load_grid(args.grid)
        return expand_grid(spec), dict(spec.get('datasets', {}))
    cells = [(f'{e} ep, {f:g} of the images', Cell(epochs=e, fraction=f))
             for e in args.epochs for f in args.fractions]
    return cells, {}


def make_jobs(args, cells: Sequence[Tuple[str, Cell]],
              datasets: dict) -> List[dict]:
    """One job per cell, seed and arm, with its subset file written; runs
    of cells with the same data share one subset per seed."""
    subsets = {}
    jobs = []
    for label, cell in cells:
        data_root = datasets.get(cell.dataset, args.data_root)
        for seed in args.seeds:
            key = cell.subset_key + (seed, )
            if key not in subsets:
                name = '_'.join(
                    str(k) for k in cell.subset_key if k is not None)
                ann_file = osp.join(args.work_dir, 'subsets',
                                    f'{name or "all"}_seed{seed}.txt')
                image_dir = train_image_dir(args.arms[0][1], data_root)
                fraction = cell.fraction
                if fraction is None and cell.per_class is None:
                    fraction = 1.0
                subsets[key] = (ann_file,
                                write_subset(
                                    image_dir,
                                    fraction,
                                    seed,
                                    ann_file,
                                    per_class=cell.per_class))
            ann_file, n_train = subsets[key]
            for name, config, *options in args.arms:
                jobs.append(
                    dict(
                        arm=name,
                        config=config,
                        options=[
                            o.replace('{seed}', str(seed)) for o in options
                        ],
                        label=label,
                        cell=cell.as_dict(),
                        cell_obj=cell,
                        cell_name=cell.name,
                        epochs=cell.epochs,
                        fraction=cell.fraction,
                        seed=seed,
                        n_train=n_train,
                        ann_file=ann_file,
                        data_root=data_root,
                        curves=args.curves,
                        work_dir=osp.join(args.work_dir, cell.name, name,
                                          f'seed{seed}')))
    return jobs


def train_image_dir(config: str, data_root: Optional[str] = None) -> str:
    """``<data_root>/<data_prefix>`` of the config's training set, or
    ``<data_root>/train`` for a config that is not on an image folder."""
    from mmengine.config import Config
    dataset = Config.fromfile(config).train_dataloader.dataset
    if data_root is not None and dataset.get('type') != 'CustomDataset':
        return osp.join(data_root, 'train')
    prefix = dataset.get('data_prefix', '') or ''
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path', '')
    root = dataset.get('data_root', '') if data_root is None else data_root
    return osp.join(root, prefix)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--arm',
        nargs='+',
        action='append',
        metavar='NAME CONFIG [K=V]',
        help='an arm: name, config and --cfg-options overrides ({seed} is '
        'replaced by the seed); repeat. Default: ' +
        ', '.join(f'{n} ({c})' for n, c in DEFAULT_ARMS))
    parser.add_argument(
        '--reference',
        help='arm the others are paired '
        'with (default: the first)')
    parser.add_argument(
        '--grid',
        help='JSON grid of regimes (centre, '
        'vary, corners, datasets); replaces --fractions/--epochs')
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
        '--gradients',
        type=int,
        default=None,
        metavar='N',
        help='log the gradient each loss term sends into the backbone '
        'every N iterations (GradientSourceHook; costs a forward and a '
        'backward per term each time)')
    parser.add_argument(
        '--workers',
        type=int,
        default=None,
        help='dataloader workers per run (default: the configs\'; the '
        'results do not depend on it)')
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
    parser.add_argument(
        '--summarize-only',
        action='store_true',
        help='train nothing: report the cells whose runs have all finished '
        'in --work-dir (a study stopped early); the others are listed under '
        '"missing"')
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


def ensure_data(roots) -> None:
    """Write the image folders of :data:`DATA_WRITERS` that are missing."""
    for root in sorted({r for r in roots if r}):
        writer = DATA_WRITERS.get(osp.normpath(root))
        if writer and not osp.isfile(osp.join(root, '.complete')):
            subprocess.run(
                [sys.executable, writer[0], root] + writer[1:], check=True)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    warnings.filterwarnings('ignore', message='pkg_resources')
    os.chdir(ROOT)
    cells, datasets = study_cells(args)
    configs = {a[1] for a in args.arms}
    ensure_data(
        list(datasets.values()) + [args.data_root] +
        ['data/digits' for c in configs if 'digits' in c])
    for root in {datasets.get(c.dataset, args.data_root) for _, c in cells}:
        image_dirs = {train_image_dir(c, root) for c in configs}
        if len(image_dirs) != 1:
            raise ValueError('All arms must train on the same images, got '
                             f'{sorted(image_dirs)}.')
    jobs = make_jobs(args, cells, datasets)
    # Configs are written here, not in the pool: MMEngine's Config parsing
    # is not thread-safe.
    for job in jobs:
        job['config_file'] = osp.join(job['work_dir'], 'study_config.py')
        if not args.summarize_only and \
                not osp.isfile(osp.join(job['work_dir'], 'result.json')):
            os.makedirs(job['work_dir'], exist_ok=True)
            study_config(
                job['config'],
                ann_file=job['ann_file'],
                epochs=job['epochs'],
                seed=job['seed'],
                curves=job['curves'],
                data_root=job['data_root'],
                cell=job['cell_obj'],
                workers=args.workers,
                gradients=args.gradients).dump(job['config_file'])
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    start = time.time()
    missing = []
    if args.summarize_only:
        finished = [
            osp.isfile(osp.join(j['work_dir'], 'result.json')) for j in jobs
        ]
        incomplete = {
            j['cell_name']
            for j, ok in zip(jobs, finished) if not ok
        }
        missing = sorted(incomplete)
        results = [
            run_one(j, threads) for j in jobs
            if j['cell_name'] not in incomplete
        ]
    else:
        # Cheapest cells first (images x epochs), so that a study stopped
        # early leaves whole cells done; results keep the grid's order.
        order = sorted(
            range(len(jobs)),
            key=lambda i: jobs[i]['n_train'] * jobs[i]['epochs'])
        with ThreadPoolExecutor(args.jobs) as pool:
            done = dict(
                zip(order, pool.map(lambda i: run_one(jobs[i], threads),
                                    order)))
        results = [done[i] for i in range(len(jobs))]
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
        seeds=args.seeds,
        datasets=datasets,
        wall_seconds=time.time() - start,
        run_seconds=sum(r.get('seconds', 0) for r in results),
        cells=summary,
        failed=[
            dict(arm=r['arm'], cell=r['cell_name'], seed=r['seed'])
            for r in results if r['metric'] is None
        ],
        missing=missing)
    write_json(out + '.json', report)
    plot_forest(summary, names, args.reference, out + '.png', args.title,
                METRIC)
    if missing:
        print(f'\nNot finished, left out: {", ".join(missing)}')
    print(f'\nWritten {out}.json and {out}.png')
    return report


if __name__ == '__main__':
    main()
