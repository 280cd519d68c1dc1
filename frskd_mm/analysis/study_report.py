"""Summaries, tables and figures of an FRSKD study
(``tools/analysis_tools/frskd_study.py``).

Each run's result is a dict with ``arm``, ``seed``, ``cell`` (the
:class:`~frskd_mm.analysis.study_grid.Cell` as a dict), ``label``,
``n_train``, ``metric`` (None if the run failed) and, where logged,
``teacher_metric`` and ``curve`` (``[[epoch, metric], ...]``).
"""
from typing import Dict, List, Optional, Sequence

from ..utils.results import mean_std, paired_difference


def summarize(results: Sequence[dict], arms: Sequence[str],
              reference: str) -> List[dict]:
    """One entry per cell, in the order cells first appear: per arm the
    metric per seed with mean and sample std (and the self-teacher's); per
    other arm the paired difference to ``reference`` over the seeds where
    both finished, and, for runs with curves, the worst gap of the seed
    mean curves (:func:`curve_gap`)."""
    cells: Dict[str, dict] = {}
    for r in results:
        key = _cell_key(r)
        entry = cells.setdefault(
            key,
            dict(
                label=r.get('label', ''),
                cell=r.get('cell', {}),
                n_train=r['n_train'],
                runs={}))
        entry['runs'].setdefault(r['arm'], {})[r['seed']] = r
    summary = []
    for key, entry in cells.items():
        cell = dict(
            label=entry['label'],
            name=key,
            n_train=entry['n_train'],
            arms={},
            paired={},
            **entry['cell'])
        for arm in arms:
            runs = entry['runs'].get(arm, {})
            done = {
                s: r['metric']
                for s, r in sorted(runs.items()) if r['metric'] is not None
            }
            stats = dict(
                seeds=list(done),
                values=list(done.values()),
                failed_seeds=[s for s in sorted(runs) if s not in done])
            if done:
                stats['mean'], stats['std'] = mean_std(done.values())
            teacher = [
                r['teacher_metric'] for r in runs.values()
                if r.get('teacher_metric') is not None
            ]
            if teacher:
                stats['teacher_mean'], stats['teacher_std'] = mean_std(teacher)
            curves = {s: r['curve'] for s, r in runs.items() if r.get('curve')}
            if curves:
                stats['curves'] = curves
            cell['arms'][arm] = stats
        ref = cell['arms'].get(reference, {})
        for arm in arms:
            stats = cell['arms'][arm]
            if arm == reference or not stats.get('values'):
                continue
            seeds = [s for s in stats['seeds'] if s in ref.get('seeds', [])]
            if not seeds:
                continue
            mine = dict(zip(stats['seeds'], stats['values']))
            base = dict(zip(ref['seeds'], ref['values']))
            paired = dict(
                seeds=seeds,
                **paired_difference([mine[s] for s in seeds],
                                    [base[s] for s in seeds]))
            gap = curve_gap(stats.get('curves'), ref.get('curves'))
            if gap is not None:
                paired['curve_gap'] = gap
            cell['paired'][arm] = paired
        summary.append(cell)
    return summary


def curve_gap(curves: Optional[Dict[int, list]],
              reference: Optional[Dict[int, list]]) -> Optional[dict]:
    """The largest shortfall of one arm's validation curve below the
    reference's, both averaged over the seeds they share.

    Args:
        curves, reference: ``{seed: [[epoch, metric], ...]}``.

    Returns:
        dict | None: ``worst`` (the most negative mean difference over the
        validations, or the smallest positive one), ``at`` (its epoch) and
        ``diffs`` (``[[epoch, mean difference], ...]``); None without
        shared curves.
    """
    if not curves or not reference:
        return None
    seeds = sorted(set(curves) & set(reference))
    if not seeds:
        return None
    per_epoch: Dict[int, List[float]] = {}
    for s in seeds:
        ref = dict((int(e), m) for e, m in reference[s])
        for e, m in curves[s]:
            if int(e) in ref:
                per_epoch.setdefault(int(e), []).append(m - ref[int(e)])
    diffs = [[e, sum(v) / len(v)] for e, v in sorted(per_epoch.items())
             if len(v) == len(seeds)]
    if not diffs:
        return None
    at, worst = min(diffs, key=lambda d: d[1])
    return dict(worst=worst, at=at, diffs=diffs)


def format_table(summary: Sequence[dict], arms: Sequence[str],
                 reference: str) -> str:
    """The printed table: mean +- std per arm and cell, then the paired
    differences with their 95 % intervals."""
    width = max([len(c['label'] or c['name']) for c in summary] + [4])
    lines = [
        f"{'cell':<{width}} {'train imgs':>10}  " + ''.join(f'{arm:>18}'
                                                            for arm in arms)
    ]
    for cell in summary:
        row = f"{cell['label'] or cell['name']:<{width}} " \
              f"{cell['n_train']:>10}  "
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
            line = (f"{cell['label'] or cell['name']:<{width}} "
                    f"{cell['n_train']:>10}  {arm:<16} {d['mean']:+6.2f}  "
                    f"{ci}  seeds {d['seeds']}")
            if 'curve_gap' in d:
                line += (f"  worst gap of the curves "
                         f"{d['curve_gap']['worst']:+.2f} at epoch "
                         f"{d['curve_gap']['at']}")
            lines.append(line)
    return '\n'.join(lines)


def verdict(paired: dict) -> str:
    """``'above'``, ``'below'`` or ``'level'``: where the 95 % interval of
    a paired difference lies with respect to 0 (``'level'`` also for one
    seed)."""
    ci = paired.get('ci95')
    if not ci:
        return 'level'
    if ci[0] > 0:
        return 'above'
    if ci[1] < 0:
        return 'below'
    return 'level'


def plot_forest(summary: Sequence[dict],
                arms: Sequence[str],
                reference: str,
                out_file: str,
                title: str = '',
                metric: str = 'accuracy/top1') -> None:
    """One row per cell: each arm's metric (seeds as dots, mean +- std as a
    bar) on the left; each other arm's paired difference to ``reference``
    (seeds as dots, mean and 95 % interval; red where the interval is below
    0, green where above) on the right."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    n = len(summary)
    fig, (left, right) = plt.subplots(
        1,
        2,
        figsize=(13, 1.5 + 0.42 * n * max(1,
                                          len(arms) - 1)),
        sharey=True)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    others = [a for a in arms if a != reference]
    step = 0.7 / max(len(arms), 1)
    rows = list(range(n))[::-1]
    for row, cell in zip(rows, summary):
        for k, arm in enumerate(arms):
            entry = cell['arms'].get(arm, {})
            y = row + 0.35 - step * (k + 0.5)
            if entry.get('values'):
                left.plot(
                    entry['values'], [y] * len(entry['values']),
                    'o',
                    color=colors[k % len(colors)],
                    ms=3,
                    alpha=0.5)
                left.errorbar(
                    entry['mean'],
                    y,
                    xerr=entry['std'],
                    fmt='D',
                    color=colors[k % len(colors)],
                    ms=5,
                    capsize=2,
                    label=arm if row == rows[0] else None)
        for k, arm in enumerate(others):
            d = cell['paired'].get(arm)
            if not d:
                continue
            y = row + 0.35 - 0.7 / len(others) * (k + 0.5)
            ci = d['ci95'] or [d['mean'], d['mean']]
            color = {'below': 'C3', 'above': 'C2'}.get(verdict(d), 'C7')
            right.plot(
                d['diffs'], [y] * len(d['diffs']), 'o', color='0.6', ms=3)
            right.errorbar(
                d['mean'],
                y,
                xerr=[[d['mean'] - ci[0]], [ci[1] - d['mean']]],
                fmt='D',
                color=color,
                capsize=3)
            if len(others) > 1:
                right.annotate(
                    arm, (ci[1], y),
                    xytext=(4, -3),
                    textcoords='offset points',
                    fontsize=7)
    left.set_yticks(
        rows, [
            f"{c['label']}\n{c['name']} ({c['n_train']} imgs)"
            if c['label'] else f"{c['name']} ({c['n_train']} imgs)"
            for c in summary
        ],
        fontsize=8)
    left.set_xlabel(f'{metric} (%): seeds (dots), mean +- std')
    left.grid(alpha=0.3)
    left.legend(loc='lower left', fontsize=8)
    right.axvline(0, color='k', lw=0.8)
    right.set_xlabel(f'paired difference to {reference} (points): seeds, '
                     'mean and 95 % CI')
    right.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def _cell_key(result: dict) -> str:
    """The cell a result belongs to: its cell's name, or (results without
    one) its epochs and fraction."""
    if result.get('cell_name'):
        return result['cell_name']
    return f"{result['epochs']}ep_frac{result['fraction']:g}"
