"""The attention figure: one row per image, the input then F_i | T_i.

matplotlib is imported only inside :func:`plot_attention`.
"""
import os
import os.path as osp
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from .attention import AttentionRow


def plot_attention(rows: Sequence['AttentionRow'],
                   out: str,
                   cell_size: float = 2.0,
                   dpi: int = 100,
                   overlay: bool = False,
                   cmap: str = 'jet') -> str:
    """Write the figure: one row per image, the input then F_i | T_i pairs.

    The figure is ``(1 + 2 n) * cell_size`` by ``len(rows) * cell_size``
    inches at ``dpi`` (so 100 dpi and 2-inch cells give 200 px per cell).
    The two maps of a level share one colour scale starting at 0: both have
    unit L2 norm over the same H_i x W_i grid, so their colours compare.

    Args:
        rows (Sequence[AttentionRow]): From :func:`compute_rows`.
        out (str): PNG path (folders are created).
        cell_size (float): Inches per panel. Defaults to 2.
        dpi (int): Dots per inch. Defaults to 100.
        overlay (bool): Draw the maps translucent over the image.
        cmap (str): Matplotlib colormap of the maps. Defaults to 'jet'.

    Returns:
        str: ``out``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError('No image to plot.')
    levels = len(rows[0].student)
    cols = 1 + 2 * levels
    fig = Figure(
        figsize=(cols * cell_size, len(rows) * cell_size),
        dpi=dpi,
        layout='constrained')
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), cols, squeeze=False)
    font = dict(fontsize=max(6.0, 4.5 * cell_size))
    for r, row in enumerate(rows):
        gray = dict(cmap='gray') if row.image.ndim == 2 else {}
        axes[r, 0].imshow(row.image, **gray)
        title = row.name if row.caption is None else \
            f'{row.name}\n{row.caption}'
        axes[r, 0].set_title(title, **font)
        for i in range(levels):
            s, t = row.student[i], row.refined[i]
            vmax = float(max(s.max(), t.max(), 1e-12))
            for k, (att, label) in enumerate(((s, 'student'), (t, 'refined'))):
                ax = axes[r, 1 + 2 * i + k]
                if overlay:
                    ax.imshow(row.image, **gray)
                ax.imshow(
                    att,
                    cmap=cmap,
                    vmin=0.0,
                    vmax=vmax,
                    alpha=0.5 if overlay else 1.0)
                name = 'F' if label == 'student' else 'T'
                ax.set_title(f'{name}_{i + 1} {label}', **font)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(out, dpi=dpi, format='png')
    return out
