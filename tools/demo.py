"""The README's demo: baseline vs FRSKD on real handwritten digits, on CPU.

1. Writes scikit-learn's 8x8 digits once to ``data/digits`` as 32x32 PNGs
   in MMPretrain's folder format (tools/dataset_converters/digits_to_folder.py)
   and canvases of those digits with per-pixel labels to
   ``data/digit_canvas`` in MMSeg's folder format
   (tools/dataset_converters/digit_canvas_to_seg.py).
2. Trains every arm of each demo (configs/demo/: the baseline, FRSKD with
   the paper's settings, FRSKD with our stable recipe; classification:
   WRN-16-2, segmentation: a small FCN) once per seed with tools/train.py's
   config and Runner, into ``<work-dir>/<task>/seed<N>/<arm>``. Each run is
   a forked child of this process (the imports are paid once, no state
   passes from one run to the next) with one torch thread, and as many
   runs train at once as there are CPU cores (``--jobs``): one thread per
   run scales better than two threads on one run, and makes the results
   independent of the machine's core count. The runs validate and save
   their checkpoint once, after the last epoch or iteration (the configs'
   schedules, models and data are unchanged). A progress bar shows each
   running run, a line each finished one; MMEngine's log, config dump and
   warnings go to the run's work directory (``console.log`` and MMEngine's
   ``<timestamp>/<timestamp>.log``), or, with ``--verbose`` (one run at a
   time), to the screen.
3. Prints test top-1 / val mIoU per run and, over several seeds, mean and
   sample standard deviation, writes them to ``<work-dir>/results.json``
   and draws them in ``<work-dir>/results.png``.

Runs on Linux and macOS (it forks). Usage:
    python tools/demo.py [--work-dir work_dirs/demo] [--seeds 0 1 2]
        [--tasks cls seg] [--jobs N] [--threads N] [--verbose]
"""
import argparse
import importlib.util
import os
import os.path as osp
import selectors
import signal
import sys
import time
import traceback
import warnings
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from frskd_mm.tasks import get_task
from frskd_mm.utils import tune_cpu_allocator
from frskd_mm.utils.json_io import write_json
from frskd_mm.utils.results import last_logged, mean_std, paired_difference
from frskd_mm.utils.runner import build_runner
from frskd_mm.visualization import plot_seed_results

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Each demo: the data writer (script and function) and its folder, the
# metric printed, the runs: the baseline, FRSKD with the paper's settings,
# and FRSKD with our stable recipe (docs/frskd_study.md). The first run is
# the reference of the paired differences.
DEMOS = {
    'cls':
    dict(
        title='WRN-16-2 on scikit-learn digits (test split)',
        writer=('tools/dataset_converters/digits_to_folder.py',
                'write_digits'),
        data_root='data/digits',
        metric='accuracy/top1',
        runs=(('baseline', 'configs/demo/baseline_wrn16_2_digits.py'),
              ('frskd', 'configs/demo/frskd_wrn16_2_digits.py'),
              ('stable', 'configs/demo/frskd_stable_wrn16_2_digits.py'))),
    'seg':
    dict(
        title='segmentation of digit canvases (val split)',
        writer=('tools/dataset_converters/digit_canvas_to_seg.py',
                'write_canvases'),
        data_root='data/digit_canvas',
        metric='mIoU',
        runs=(('baseline', 'configs/demo/baseline_seg_digits.py'),
              ('frskd', 'configs/demo/frskd_seg_digits.py'),
              ('stable', 'configs/demo/frskd_stable_seg_digits.py'))),
    # Not in the default run (`make demo`): `--tasks det`. MMDetection logs
    # the mAP as a fraction; ``scale`` prints it in %.
    'det':
    dict(
        title='tiny RetinaNet on digit canvases (val split, COCO bbox mAP)',
        writer=('tools/dataset_converters/digit_canvas_to_coco.py',
                'write_coco'),
        data_root='data/digit_boxes',
        metric='coco/bbox_mAP',
        scale=100.0,
        runs=(('baseline', 'configs/demo/baseline_det_digits.py'),
              ('frskd', 'configs/demo/frskd_det_digits.py'),
              ('stable', 'configs/demo/frskd_stable_det_digits.py'))),
}


def load_script(path: str):
    """A script of this repository (e.g. tools/train.py) as a module."""
    name = 'frskd_demo_' + osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TRAIN = load_script('tools/train.py')


class ProgressHook(Hook):
    """Reports a run's progress to the demo, one line per event on a pipe:
    ``total <iterations>``, ``iter <done>``, ``phase <validating|training>``.
    """

    priority = 'LOWEST'

    def __init__(self, fd: int) -> None:
        self.pipe = os.fdopen(fd, 'w', buffering=1)

    def _send(self, *words) -> None:
        self.pipe.write(' '.join(str(w) for w in words) + '\n')

    def before_train(self, runner) -> None:
        self._send('total', runner.max_iters)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        self._send('iter', runner.iter + 1)

    def before_val(self, runner) -> None:
        self._send('phase', 'validating')

    def after_val(self, runner) -> None:
        self._send('phase', 'training')


def evaluate_at_the_end(cfg: Config) -> None:
    """Validate and save a checkpoint once, after the last epoch or
    iteration: the run's result is that last validation either way, and
    the training (its schedule, data and random draws) is unchanged."""
    train_cfg = cfg.train_cfg
    end = train_cfg.get('max_epochs', None) or train_cfg.get('max_iters')
    train_cfg.val_interval = end
    checkpoint = (cfg.get('default_hooks', None) or {}).get('checkpoint')
    if checkpoint is not None:
        checkpoint.interval = end


class Run:
    """One training run of the demo, trained in a forked child.

    Args:
        task (str): Key of :data:`DEMOS`.
        name (str): The arm, e.g. ``'baseline'``.
        config (str): Its config.
        seed (int): ``randomness.seed``.
        work_dir (str): Where its logs and checkpoints go.
        options (Sequence[str]): More ``--cfg-options`` (``key=value``).
    """

    def __init__(self,
                 task: str,
                 name: str,
                 config: str,
                 seed: int,
                 work_dir: str,
                 options: Sequence[str] = ()) -> None:
        self.task, self.name, self.config = task, name, config
        self.seed, self.work_dir = seed, work_dir
        self.options = list(options)
        self.label = f'{task} {name} seed {seed}'
        self.log = osp.join(work_dir, 'console.log')
        self.pid = self.pipe = self.bar = None
        self.buffer, self.start, self.seconds = b'', 0.0, 0.0
        self.cpu_seconds = 0.0

    def argv(self) -> List[str]:
        """tools/train.py's command line of the run."""
        return [
            self.config, '--work-dir', self.work_dir, '--cfg-options',
            f'randomness.seed={self.seed}'
        ] + [
            f'{split}_dataloader.dataset.data_root='
            f"{DEMOS[self.task]['data_root']}"
            for split in ('train', 'val', 'test')
        ] + self.options

    def fork(self, threads: int, verbose: bool) -> None:
        """Start the child: it trains with ``threads`` torch threads, its
        output in :attr:`log` (on the screen if ``verbose``), its progress
        on a pipe (:class:`ProgressHook`). Call it while this process runs
        no other thread: the child inherits only the calling one."""
        os.makedirs(self.work_dir, exist_ok=True)
        read, write = os.pipe()
        sys.stdout.flush()  # or the child would write it again
        sys.stderr.flush()
        self.start = time.time()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            os.close(read)
            code = 0
            try:
                self._train(write, threads, verbose)
            except BaseException:  # noqa: BLE001 - report, exit non-zero
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        os.close(write)
        os.set_blocking(read, False)
        self.pipe = read

    def _train(self, fd: int, threads: int, verbose: bool) -> None:
        if not verbose:
            out = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.close(out)
            # The interpreter's own streams write to those descriptors
            # (sys.stdout may be another object, e.g. under pytest).
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        torch.set_num_threads(threads)
        tune_cpu_allocator()
        cfg = TRAIN.prepare_config(self.argv())
        evaluate_at_the_end(cfg)
        runner = build_runner(cfg)
        runner.register_hook(ProgressHook(fd))
        runner.train()

    def events(self) -> List[List[str]]:
        """The progress events that arrived since the last call."""
        try:
            while True:
                chunk = os.read(self.pipe, 65536)
                if not chunk:
                    break
                self.buffer += chunk
        except BlockingIOError:
            pass
        *lines, self.buffer = self.buffer.split(b'\n')
        return [line.decode().split() for line in lines]

    def poll(self) -> Optional[int]:
        """The child's exit code once it has exited (it is then reaped and
        its wall and CPU seconds are known), else None."""
        pid, status, usage = os.wait4(self.pid, os.WNOHANG)
        if pid == 0:
            return None
        self.seconds = time.time() - self.start
        self.cpu_seconds = usage.ru_utime + usage.ru_stime
        return os.waitstatus_to_exitcode(status)

    def stop(self) -> None:
        """Terminate a running child and reap it."""
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass


def _progress(verbose: bool):
    """The progress bars: refreshed by :func:`train_runs` itself (no
    refresh thread, so that forking stays safe), nothing while ``verbose``
    (then the children's logs fill the screen)."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                               TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    return Progress(
        TextColumn('{task.description:<36}'),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn('iters'),
        TimeElapsedColumn(),
        TextColumn('left'),
        TimeRemainingColumn(),
        auto_refresh=False,
        redirect_stdout=False,
        redirect_stderr=False,
        transient=True,
        disable=verbose)


def _update(progress, bar, event: List[str], label: str) -> None:
    if event[0] == 'total':
        progress.update(bar, total=int(event[1]))
    elif event[0] == 'iter':
        progress.update(bar, completed=int(event[1]))
    elif event[0] == 'phase':
        suffix = '' if event[1] == 'training' else f' ({event[1]})'
        progress.update(bar, description=label + suffix)


def train_runs(runs: List[Run], jobs: int, threads: int,
               verbose: bool) -> Dict[Run, float]:
    """Train ``runs``, ``jobs`` at a time, each in its own child with
    ``threads`` threads; show a bar per running run and print a line per
    finished one. Returns each run's metric.

    Raises:
        SystemExit: When a run fails (the others are stopped), with the end
            of its log.
    """
    pending, running, results = list(runs), [], {}
    selector = selectors.DefaultSelector()
    with _progress(verbose) as progress:
        try:
            while pending or running:
                while pending and len(running) < jobs:
                    run = pending.pop(0)
                    if verbose:
                        print(
                            f'\n=== Training {run.label}: {run.config} -> '
                            f'{run.work_dir}',
                            flush=True)
                    run.fork(threads, verbose)
                    run.bar = progress.add_task(run.label, total=None)
                    selector.register(run.pipe, selectors.EVENT_READ, run)
                    running.append(run)
                selector.select(timeout=0.5)
                for run in list(running):
                    code = run.poll()  # then the events it sent before
                    for event in run.events():
                        _update(progress, run.bar, event, run.label)
                    if code is None:
                        continue
                    selector.unregister(run.pipe)
                    os.close(run.pipe)
                    running.remove(run)
                    progress.remove_task(run.bar)
                    if code != 0:
                        _failed(run, code, verbose)
                    metric = DEMOS[run.task]['metric']
                    results[run] = last_logged(run.work_dir, metric) * \
                        DEMOS[run.task].get('scale', 1.0)
                    progress.console.print(
                        f'{run.label:<22} {metric} {results[run]:6.2f}   '
                        f'{run.seconds:4.0f} s (CPU {run.cpu_seconds:4.0f} '
                        f's)   {run.work_dir}',
                        markup=False,
                        highlight=False,
                        soft_wrap=True)
                progress.refresh()
        finally:
            for run in running:
                run.stop()
    return results


def _failed(run: Run, code: int, verbose: bool) -> None:
    if not verbose:
        with open(run.log) as f:
            print(''.join(f.readlines()[-40:]), file=sys.stderr)
    raise SystemExit(f'Training {run.label} failed (exit code {code}); its '
                     f"log: {'above' if verbose else run.log}")


def summarize(runs: Dict[int, dict]) -> Dict[str, dict]:
    """Per model: the metric per seed, its mean and sample std, and (for
    every model but the first, the baseline) the paired difference to the
    baseline with its 95 % interval.

    Args:
        runs (dict): seed -> run name -> (metric, seconds, work directory).
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


def write_data(task: str) -> None:
    """Write the demo's data set once (the writers skip a complete one)."""
    demo = DEMOS[task]
    script, function = demo['writer']
    counts = getattr(load_script(script), function)(demo['data_root'])
    print(
        f"{task}: {demo['title']}; data in {demo['data_root']} "
        f"({', '.join(f'{n} {split}' for split, n in counts.items())})",
        flush=True)


def prepare_imports(tasks: List[str]) -> None:
    """Import what every run needs once, before the first fork: each
    task's modules (through its first config) and matplotlib's pyplot
    (MMEngine's visualizer)."""
    import matplotlib.pyplot  # noqa: F401
    for task in tasks:
        get_task(Config.fromfile(DEMOS[task]['runs'][0][1])).setup()


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


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
        default=['cls', 'seg'],
        help='demos to run (default: cls seg; det is the detection demo)')
    parser.add_argument(
        '--jobs',
        type=int,
        default=usable_cores(),
        help='runs trained at the same time (default: the usable CPU '
        'cores)')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads of each run (default 1: the results do not '
        'depend on the machine\'s core count)')
    parser.add_argument(
        '--verbose',
        action='store_true',
        help="print MMEngine's logs instead of progress bars (one run at "
        'a time)')
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    # MMEngine's config loader imports pkg_resources (deprecated); the
    # runs' own warnings go to their logs.
    warnings.filterwarnings('ignore', 'pkg_resources is deprecated',
                            UserWarning)
    prepare_imports(args.tasks)
    for task in args.tasks:
        write_data(task)

    todo = [
        Run(task, name, config, seed,
            osp.join(args.work_dir, task, f'seed{seed}', name))
        for task in args.tasks for seed in args.seeds
        for name, config in DEMOS[task]['runs']
    ]
    metrics = train_runs(todo, 1 if args.verbose else max(1, args.jobs),
                         args.threads, args.verbose)
    runs = {task: {} for task in args.tasks}
    for run in todo:  # in the configs' order, whatever finished first
        runs[run.task].setdefault(run.seed,
                                  {})[run.name] = (metrics[run], run.seconds,
                                                   run.work_dir)

    for task in args.tasks:
        print('\n' + format_results(DEMOS[task], runs[task]))
    summaries = {task: summarize(runs[task]) for task in args.tasks}
    out = write_json(
        osp.join(args.work_dir, 'results.json'), {
            task: dict(metric=DEMOS[task]['metric'], **summaries[task])
            for task in args.tasks
        })
    figure = plot_seed_results([
        dict(
            title=DEMOS[task]['title'],
            metric=DEMOS[task]['metric'] + ' (%)',
            reference=DEMOS[task]['runs'][0][0],
            arms=summaries[task]) for task in args.tasks
    ], osp.join(args.work_dir, 'results.png'))
    print(f'\nWritten {out}\nFigure: {figure}')


if __name__ == '__main__':
    main()
