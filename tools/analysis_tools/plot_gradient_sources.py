"""Plot where the backbone's gradient comes from, run by run.

Reads the training logs of runs trained with
:class:`~frskd_mm.engine.hooks.GradientSourceHook` (``frskd_study.py
--gradients N`` adds it) and draws, one column per group of runs (e.g. the
seeds of one arm, averaged), over training iterations:

1. the training cross-entropy of the student (``loss_cls``, a baseline's
   ``loss``) and of the self-teacher (``loss_teacher``, dashed);
2. the norm of the gradient each term sends into the backbone as the run
   applies it (``grad/<term>``), on a log scale;
3. the cosine between each self-teacher term's full-weight gradient and
   the student's own (``grad_cos/<term>-student_ce``);
4. the norm of the backbone's convolution weights relative to its first
   measurement (``weight_norm/backbone``; batch norm makes a convolution's
   effective learning rate fall with the square of that norm);
5. the validation accuracy of the student (and of the self-teacher,
   dashed, where logged), over the iterations at which it was measured.

Example::

    python tools/analysis_tools/plot_gradient_sources.py \\
        --group baseline work_dirs/diag/<cell>/baseline/seed* \\
        --group stable work_dirs/diag/<cell>/stable/seed* \\
        --out docs/study/gradient_sources.png
"""
import argparse
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from frskd_mm.utils.logs import find_scalar_logs, load_scalars

TERMS = ('student_ce', 'teacher_ce', 'kd', 'att')
COLORS = dict(student_ce='C0', teacher_ce='C3', kd='C2', att='C1')


def read_run(work_dir: str) -> Dict[str, List[Tuple[float, float]]]:
    """``{key: [(iteration, value), ...]}`` of a run's newest log, for the
    keys the figure draws; validation records are placed at the last
    training iteration logged before them."""
    scalars = load_scalars(find_scalar_logs(work_dir)[-1])
    series: Dict[str, List[Tuple[float, float]]] = {}
    for r in scalars['train']:
        for key, value in r.items():
            if key.startswith(('grad', 'loss', 'weight_norm')):
                series.setdefault(key, []).append((r['step'], value))
    iters_per_epoch = _iterations_per_epoch(scalars['train'])
    for r in scalars['val']:
        for key in ('accuracy/top1', 'teacher/accuracy/top1'):
            if key in r:
                series.setdefault(key, []).append(
                    (r['step'] * iters_per_epoch, r[key]))
    return series


def _iterations_per_epoch(train: Sequence[dict]) -> float:
    """Iterations per epoch of an epoch-based run's training records."""
    last = [r for r in train if 'epoch' in r]
    if not last:
        return 1.0
    return max(r['step'] for r in last) / max(r['epoch'] for r in last)


def mean_series(runs: Sequence[Dict[str, list]],
                key: str) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """The mean over runs of one key at the steps all runs logged."""
    found = [dict(run[key]) for run in runs if key in run]
    if len(found) != len(runs) or not found:
        return None
    steps = sorted(set.intersection(*[set(f) for f in found]))
    if not steps:
        return None
    values = np.array([[f[s] for s in steps] for f in found]).mean(0)
    return np.array(steps), values


def plot(groups: Sequence[Tuple[str, List[str]]],
         out: str,
         title: str = '') -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(
        5,
        len(groups),
        figsize=(3.6 * len(groups), 13),
        squeeze=False,
        sharex='col',
        sharey='row')
    for col, (name, dirs) in enumerate(groups):
        runs = [read_run(d) for d in dirs]
        ce, grad, cos, norm, acc = axes[:, col]
        found = mean_series(runs, 'weight_norm/backbone')
        if found is not None:
            norm.plot(found[0], found[1] / found[1][0], color='k')
        for key, style in (('loss_cls', '-'), ('loss', '-'), ('loss_teacher',
                                                              '--')):
            found = mean_series(runs, key)
            if found is not None and not (key == 'loss' and mean_series(
                    runs, 'loss_cls') is not None):
                ce.plot(
                    *found,
                    style,
                    color='C3' if 'teacher' in key else 'C0',
                    label='teacher CE' if 'teacher' in key else 'student CE')
        for term in TERMS:
            found = mean_series(runs, f'grad/{term}')
            if found is not None:
                steps, values = found
                grad.semilogy(
                    steps,
                    np.maximum(values, 1e-6),
                    color=COLORS[term],
                    label=term)
            if term != 'student_ce':
                found = mean_series(runs, f'grad_cos/{term}-student_ce')
                if found is None:
                    found = mean_series(runs, f'grad_cos/student_ce-{term}')
                if found is not None:
                    cos.plot(*found, color=COLORS[term], label=term)
        for key, style in (('accuracy/top1', '-'), ('teacher/accuracy/top1',
                                                    '--')):
            found = mean_series(runs, key)
            if found is not None:
                acc.plot(
                    *found,
                    style,
                    color='C3' if 'teacher' in key else 'C0',
                    label='teacher' if 'teacher' in key else 'student')
        ce.set_title(f'{name} ({len(runs)} run{"s" * (len(runs) > 1)})')
        cos.axhline(0, color='k', lw=0.6)
        acc.set_xlabel('iteration')
        for ax in (ce, grad, cos, norm, acc):
            ax.grid(alpha=0.3)
    axes[0][0].set_ylabel('training cross-entropy')
    axes[1][0].set_ylabel('gradient norm into the backbone\n(as applied)')
    axes[2][0].set_ylabel('cosine with the student CE\'s gradient')
    axes[3][0].set_ylabel('backbone weight norm\n(relative to the start)')
    axes[4][0].set_ylabel('validation top-1 (%)')
    for row in axes:
        handles = {}
        for ax in row:
            for h, label in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(label, h)
        row[-1].legend(
            handles.values(), handles.keys(), fontsize=7, loc='best')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--group',
        nargs='+',
        action='append',
        required=True,
        metavar='NAME WORK_DIR',
        help='a column: its name and the work dirs averaged in it')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--title', default='')
    args = parser.parse_args(argv)
    for group in args.group:
        if len(group) < 2:
            parser.error(f'--group needs NAME WORK_DIR [...], got {group}.')
    return args


def main(argv=None):
    args = parse_args(argv)
    plot([(g[0], g[1:]) for g in args.group], args.out, args.title)
    print(f'Written {args.out}')


if __name__ == '__main__':
    main()
