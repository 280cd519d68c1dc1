"""Plot FRSKD training curves from MMEngine's JSON logs, several runs at once.

Writes one PNG with six panels: the four loss terms of FRSKD (``loss_cls``,
``loss_teacher``, ``loss_kd``, ``loss_att``) over training iterations, the
validation metric over epochs (or iterations, for iteration-based
schedules) with the self-teacher's beside the student's when logged
(dashed), and the legend of the runs. Baseline runs log only the total
``loss``, which for them is the classification loss: it is drawn in the
``loss_cls`` panel, labelled ``loss (total)``, and the three FRSKD-only
panels show only the FRSKD runs.

Keys read (``train/`` and ``val/`` prefixes of ``log_with_hierarchy`` are
removed; MMSegmentation prefixes decode-head losses with ``decode.``):

- loss_cls panel: ``loss_cls``, else ``decode.loss_cls`` /
  ``decode.loss_ce`` / ``loss_ce``, else the total ``loss``;
- ``loss_teacher``, ``loss_kd``, ``loss_att``: the key itself or
  ``decode.<key>``;
- metric (``--metric``, default: ``accuracy/top1`` for classification,
  ``mIoU`` for segmentation, whichever is logged): the student's, and
  ``teacher/<metric>`` for the self-teacher when the run logged it.

Which log of a work dir: MMEngine writes one
``<work_dir>/<timestamp>/vis_data/scalars.json`` per launch. All launches
with training records are read in timestamp order and stitched: each
launch's records replace those of earlier launches from its first logged
step on. So a run resumed with ``--resume`` continues its earlier curve,
and a run started again from scratch in the same work dir (which logs from
step 1 again) replaces the older run entirely. Launches without training
records (``tools/test.py``) are ignored. A WORK_DIR may also be one
``<timestamp>`` folder or a ``scalars.json`` file, to plot exactly that.

Example:
    python tools/analysis_tools/plot_curves.py work_dirs/demo/baseline \\
        work_dirs/demo/frskd --labels baseline FRSKD --out curves.png

The logs are read by :mod:`frskd_mm.utils.logs` (the reader of the demo and
the study too). The figure is 15 x 8 inches at --dpi (default 100: 1500 x
800 px).
"""
import argparse
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from frskd_mm.utils.logs import find_scalar_logs, load_scalars

#: The FRSKD loss terms, one panel each.
LOSS_TERMS = ('loss_cls', 'loss_teacher', 'loss_kd', 'loss_att')

#: Keys accepted for each panel, in order of preference.
LOSS_KEYS: Dict[str, Tuple[str, ...]] = {
    'loss_cls': ('loss_cls', 'decode.loss_cls', 'decode.loss_ce', 'loss_ce'),
    'loss_teacher': ('loss_teacher', 'decode.loss_teacher'),
    'loss_kd': ('loss_kd', 'decode.loss_kd'),
    'loss_att': ('loss_att', 'decode.loss_att'),
}

#: Validation metrics tried when --metric is not given.
DEFAULT_METRICS = ('accuracy/top1', 'mIoU')

#: Keys of a validation record that are not metrics.
_NON_METRICS = {'step', 'time', 'data_time', 'epoch', 'iter', 'memory'}

FIGSIZE = (15.0, 8.0)


@dataclass
class RunLog:
    """The training and validation records of one work dir.

    Attributes:
        label (str): Legend label.
        train (list[dict]): Training records, sorted by ``step`` (the
            global iteration), each holding the logged scalars.
        val (list[dict]): Validation records, sorted by ``step`` (the
            epoch for epoch-based runs, the iteration otherwise).
        sources (list[str]): The scalars.json files used, oldest first.
        val_by_epoch (bool): Whether the validation steps are epochs.
    """

    label: str
    train: List[dict] = field(default_factory=list)
    val: List[dict] = field(default_factory=list)
    sources: List[str] = field(default_factory=list)
    val_by_epoch: bool = True


def load_run(work_dir: str, label: Optional[str] = None) -> RunLog:
    """Read and stitch every training launch of ``work_dir``.

    See the module docstring for the stitching rule.

    Args:
        work_dir (str): A work dir, one ``<timestamp>`` folder of it or a
            scalars.json (:func:`frskd_mm.utils.logs.find_scalar_logs`).
        label (str, optional): Legend label; defaults to the folder name.

    Returns:
        RunLog: The stitched records.

    Raises:
        FileNotFoundError: If there is no log, or no log has a training
            record.
    """
    label = label or osp.basename(osp.normpath(work_dir))
    run = RunLog(label=label)
    for path in find_scalar_logs(work_dir):
        scalars = load_scalars(path)
        train, val = scalars['train'], scalars['val']
        if not train:
            continue  # a test-only or crashed launch
        # Validation steps are epochs when the training records carry the
        # epoch (by-epoch loops; log_metric_by_epoch) and stay within it.
        epochs = [r['epoch'] for r in train if 'epoch' in r]
        by_epoch = len(epochs) == len(train) and all(r['step'] <= max(epochs)
                                                     for r in val)
        first_step = train[0]['step']
        first_val = train[0]['epoch'] if by_epoch else first_step
        run.train = [r for r in run.train if r['step'] < first_step] + train
        run.val = [r for r in run.val if r['step'] < first_val] + val
        run.val_by_epoch = by_epoch
        run.sources.append(path)
    if not run.sources:
        raise FileNotFoundError(
            f'No training record in the logs of {work_dir} '
            f'({", ".join(find_scalar_logs(work_dir))}): the run has not '
            'logged its first iterations yet (LoggerHook interval) or only '
            'tools/test.py ran there.')
    return run


def loss_series(run: RunLog,
                term: str) -> Optional[Tuple[str, List[float], List[float]]]:
    """The curve of one loss panel for ``run``.

    Args:
        run (RunLog): From :func:`load_run`.
        term (str): One of :data:`LOSS_TERMS`.

    Returns:
        tuple | None: ``(key_label, steps, values)``, or None when the run
        logged no key of that panel. For ``loss_cls`` a run without any
        FRSKD or classification key (a baseline) gives its total ``loss``,
        labelled ``'loss (total)'``.
    """
    keys = set().union(*(r.keys() for r in run.train)) if run.train \
        else set()
    key = next((k for k in LOSS_KEYS[term] if k in keys), None)
    key_label = key
    if key is None and term == 'loss_cls' and 'loss' in keys:
        key, key_label = 'loss', 'loss (total)'
    if key is None:
        return None
    pts = [(r['step'], r[key]) for r in run.train if key in r]
    return key_label, [p[0] for p in pts], [p[1] for p in pts]


def choose_metric(runs: Sequence[RunLog],
                  metric: Optional[str] = None) -> Optional[str]:
    """The validation metric to plot.

    Args:
        runs (Sequence[RunLog]): The runs.
        metric (str, optional): Forced choice; it must be logged by a run.

    Returns:
        str | None: ``metric``, else the first of :data:`DEFAULT_METRICS`
        logged by any run, else the first student metric logged, else None.
    """
    logged: List[str] = []
    for run in runs:
        for r in run.val:
            logged += [k for k in r if k not in logged]
    student = [
        k for k in logged
        if k not in _NON_METRICS and not k.startswith('teacher/')
    ]
    if metric is not None:
        if metric not in logged:
            raise ValueError(f'Metric {metric!r} is not logged; logged '
                             f'validation keys: {student}.')
        return metric
    for name in DEFAULT_METRICS:
        if name in student:
            return name
    return student[0] if student else None


def metric_series(run: RunLog, key: str) -> Tuple[List[float], List[float]]:
    """(steps, values) of validation ``key`` in ``run`` (may be empty)."""
    pts = [(r['step'], r[key]) for r in run.val
           if isinstance(r.get(key), (int, float))]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_curves(runs: Sequence[RunLog],
                out: str,
                metric: Optional[str] = None,
                dpi: int = 100,
                title: Optional[str] = None) -> str:
    """Write the figure of ``runs`` to ``out`` (see the module docstring).

    Args:
        runs (Sequence[RunLog]): From :func:`load_run`.
        out (str): PNG path; folders are created.
        metric (str, optional): Validation key; see :func:`choose_metric`.
        dpi (int): Dots per inch of the 15 x 8 inch figure.
        title (str, optional): Figure title.

    Returns:
        str: ``out``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=FIGSIZE, dpi=dpi, layout='constrained')
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3).ravel()
    colors = [f'C{i % 10}' for i in range(len(runs))]

    for ax, term in zip(axes, LOSS_TERMS):
        drawn = False
        for run, color in zip(runs, colors):
            series = loss_series(run, term)
            if series is None or not series[1]:
                continue
            key_label, steps, values = series
            ax.plot(
                steps,
                values,
                color=color,
                lw=1.2,
                label=f'{run.label}: {key_label}')
            drawn = True
        ax.set_title(term)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=8)
        else:
            ax.text(
                0.5,
                0.5,
                f'{term} not logged\n(baseline runs)',
                ha='center',
                va='center',
                transform=ax.transAxes,
                color='gray')

    ax = axes[4]
    key = choose_metric(runs, metric)
    any_teacher = False
    if key is None:
        ax.text(
            0.5,
            0.5,
            'no validation metric logged',
            ha='center',
            va='center',
            transform=ax.transAxes,
            color='gray')
        ax.set_title('validation')
    else:
        for run, color in zip(runs, colors):
            steps, values = metric_series(run, key)
            if steps:
                ax.plot(
                    steps,
                    values,
                    color=color,
                    marker='o',
                    ms=3,
                    lw=1.5,
                    label=f'{run.label}: student')
            steps, values = metric_series(run, f'teacher/{key}')
            if steps:
                any_teacher = True
                ax.plot(
                    steps,
                    values,
                    color=color,
                    marker='s',
                    ms=3,
                    lw=1.2,
                    ls='--',
                    label=f'{run.label}: self-teacher')
        ax.set_title(f'validation {key}')
        ax.legend(fontsize=8)
    by_epoch = [r.val_by_epoch for r in runs if r.val]
    ax.set_xlabel('epoch' if by_epoch and all(by_epoch) else
                  'iteration' if not any(by_epoch) else 'epoch / iteration')
    ax.grid(alpha=0.3)

    ax = axes[5]
    ax.axis('off')
    handles = [Line2D([], [], color=c, lw=2) for c in colors]
    names = [run.label for run in runs]
    handles.append(Line2D([], [], color='k', lw=1.5, marker='o', ms=3))
    names.append('student')
    if any_teacher:
        handles.append(
            Line2D([], [], color='k', lw=1.2, ls='--', marker='s', ms=3))
        names.append('self-teacher (teacher/*)')
    ax.legend(handles, names, loc='center', fontsize=11, title='runs')
    if title:
        fig.suptitle(title)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=dpi, format='png')
    return out


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(
        description='Plot the FRSKD loss terms and validation accuracy/mIoU '
        'of one or more MMEngine work dirs into one PNG')
    parser.add_argument(
        'work_dirs',
        nargs='+',
        metavar='WORK_DIR',
        help='training work dirs (or a <timestamp> folder '
        'or a scalars.json)')
    parser.add_argument(
        '--labels',
        nargs='+',
        help='legend labels, one per WORK_DIR '
        '(default: folder names)')
    parser.add_argument(
        '--out',
        default='curves.png',
        help='PNG to write (default: curves.png)')
    parser.add_argument(
        '--metric',
        help='validation key (default: accuracy/top1 or '
        'mIoU, whichever is logged)')
    parser.add_argument('--title', help='figure title')
    parser.add_argument(
        '--dpi',
        type=int,
        default=100,
        help='dots per inch (default: 100, 1500x800 px)')
    args = parser.parse_args(argv)
    if args.labels and len(args.labels) != len(args.work_dirs):
        parser.error(f'--labels got {len(args.labels)} labels for '
                     f'{len(args.work_dirs)} work dirs.')
    return args


def _default_labels(work_dirs: Sequence[str]) -> List[str]:
    names = [osp.basename(osp.normpath(w)) for w in work_dirs]
    if len(set(names)) == len(names):
        return names
    return [osp.normpath(w) for w in work_dirs]


def main(argv: Optional[List[str]] = None) -> str:
    """Run the tool; return the path of the written PNG."""
    args = parse_args(argv)
    labels = args.labels or _default_labels(args.work_dirs)
    try:
        runs = [load_run(w, label) for w, label in zip(args.work_dirs, labels)]
        out = plot_curves(runs, args.out, args.metric, args.dpi, args.title)
    except (FileNotFoundError, ValueError) as e:
        if argv is not None:  # called from Python: let the caller see it
            raise
        sys.exit(f'error: {e}')
    for run in runs:
        print(f'{run.label}: {len(run.train)} training and {len(run.val)} '
              f'validation records from {", ".join(run.sources)}')
    print(f'Curves: {out}')
    return out


if __name__ == '__main__':
    main()
