"""The results figure of runs over seeds: per task, each arm's mean with
every seed's value, the reference arm (the baseline) marked.

matplotlib is imported only inside :func:`plot_seed_results`.
"""
import os
import os.path as osp
from typing import Dict, Sequence


def plot_seed_results(panels: Sequence[Dict], out: str, dpi: int = 100) -> str:
    """Write one panel per task, one row per arm.

    Each row shows the arm's value at every seed (grey dots, just below
    the row) and their mean (a diamond, with +- one sample std when there
    are several seeds, its value written above). The reference arm (the
    baseline) is the top row, drawn and named in its own colour, and a
    dashed line through the whole panel marks its mean, so every other arm
    reads as left or right of it.

    Args:
        panels (Sequence[dict]): One per task: ``title`` (str),
            ``metric`` (str, the x-axis label), ``reference`` (the
            baseline arm's name) and ``arms``: arm name -> ``dict(values=
            [one per seed], mean=float, std=float)`` (as
            :func:`frskd_mm.utils.results.mean_std` gives them), in the
            order to draw, the reference first.
        out (str): PNG path (folders are created).
        dpi (int): Dots per inch. Defaults to 100.

    Returns:
        str: ``out``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not panels:
        raise ValueError('No results to plot.')
    rows = max(len(p['arms']) for p in panels)
    fig = Figure(
        figsize=(6.0 * len(panels), 1.4 + 0.6 * rows),
        dpi=dpi,
        layout='constrained')
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels):
        names = list(panel['arms'])
        ys = list(range(len(names)))[::-1]
        reference = panel['arms'].get(panel['reference'])
        if reference is not None:
            ax.axvline(
                reference['mean'],
                color='C0',
                ls='--',
                lw=1,
                label=f"{panel['reference']} mean")
        for y, name in zip(ys, names):
            arm = panel['arms'][name]
            color = 'C0' if name == panel['reference'] else 'C1'
            ax.plot(
                arm['values'], [y - 0.2] * len(arm['values']),
                'o',
                color='0.55',
                ms=5,
                zorder=2)
            ax.errorbar(
                arm['mean'],
                y,
                xerr=arm['std'] if len(arm['values']) > 1 else None,
                fmt='D',
                color=color,
                ms=8,
                capsize=4,
                zorder=3)
            ax.annotate(
                f"{arm['mean']:.2f}", (arm['mean'], y),
                xytext=(0, 9),
                textcoords='offset points',
                ha='center',
                fontsize=9)
        ax.set_yticks(ys, names)
        for label in ax.get_yticklabels():
            if label.get_text() == panel['reference']:
                label.set_color('C0')
                label.set_fontweight('bold')
        ax.set_ylim(-0.7, len(names) - 0.3)
        ax.margins(x=0.15)
        seeds = max(len(a['values']) for a in panel['arms'].values())
        ax.set_xlabel(f"{panel['metric']}: mean (diamond) and each of "
                      f'{seeds} seed(s) (grey)')
        ax.set_title(panel['title'])
        ax.grid(axis='x', alpha=0.3)
        if reference is not None:
            ax.legend(loc='lower right', fontsize='small')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=dpi, format='png')
    return out
