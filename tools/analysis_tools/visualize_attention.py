"""Draw the student's and the self-teacher's attention maps of an FRSKD model.

Writes one PNG: one row per image, with the input image (as the config's
test pipeline makes it) and then, for each level i, the spatial attention
map of the student's feature F_i ('F_i student') next to that of the
self-teacher's refined feature T_i ('T_i refined'), upsampled to the image
size. The maps are ``frskd_mm.models.losses.spatial_attention`` (the
quantity the attention-transfer loss compares); the two maps of a level
share a colour scale from 0. The model stays in eval mode (BatchNorm uses
and keeps its running statistics); only the self-teacher branch of the
neck is run in addition. Also prints the attention-transfer distance of
each level.

Works with classification and segmentation FRSKD configs; the image is
read by the test pipeline's ``LoadImageFromFile`` (annotation loading is
dropped) or, for pipelines without one (CIFAR configs, whose datasets hold
RGB arrays), with ``mmcv.imread`` in RGB order.

Example:
    python tools/analysis_tools/visualize_attention.py \\
        configs/demo/frskd_wrn16_2_digits.py \\
        work_dirs/demo/frskd/epoch_8.pth \\
        data/digits/test/0/0036.png data/digits/test/3/*.png \\
        --out attention.png

The figure is (1 + 2 * levels) * cell-size by images * cell-size inches at
--dpi (defaults: 2 inches, 100 dpi, i.e. 200 px per panel).
"""
import argparse
import sys
from typing import List, Optional

from mmengine.config import DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(
        description='Student vs self-teacher attention maps of an FRSKD '
        'model, one PNG')
    parser.add_argument('config', help='FRSKD config (cls or seg)')
    parser.add_argument(
        'checkpoint', help='FRSKD training checkpoint (with neck.*)')
    parser.add_argument(
        'images',
        nargs='+',
        metavar='IMAGE',
        help='image files, one figure row each')
    parser.add_argument(
        '--out',
        default='attention.png',
        help='PNG to write (default: attention.png)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    parser.add_argument(
        '--device',
        default='cpu',
        help='device, e.g. cpu or cuda:0 (default: cpu)')
    parser.add_argument(
        '--cell-size',
        type=float,
        default=2.0,
        help='inches per panel (default: 2)')
    parser.add_argument(
        '--dpi', type=int, default=100, help='dots per inch (default: 100)')
    parser.add_argument(
        '--overlay',
        action='store_true',
        help='draw the maps translucent over the image')
    parser.add_argument(
        '--cmap',
        default='jet',
        help='matplotlib colormap of the maps (default: jet)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    """Run the tool; return the path of the written PNG."""
    args = parse_args(argv)
    from frskd_mm.visualization import visualize_attention
    try:
        out, rows = visualize_attention(
            args.config,
            args.checkpoint,
            args.images,
            out=args.out,
            cfg_options=args.cfg_options,
            device=args.device,
            cell_size=args.cell_size,
            dpi=args.dpi,
            overlay=args.overlay,
            cmap=args.cmap)
    except (FileNotFoundError, ValueError) as e:
        if argv is not None:  # called from Python: let the caller see it
            raise
        sys.exit(f'error: {e}')
    for row in rows:
        levels = '  '.join(
            f'AT(F_{i + 1},T_{i + 1})={d:.3e} [{h}x{w}]'
            for i, (d, (h,
                        w)) in enumerate(zip(row.distances, row.level_sizes)))
        caption = f' ({row.caption})' if row.caption else ''
        print(f'{row.name}{caption}: {levels}')
    print(f'Attention figure: {out}')
    return out


if __name__ == '__main__':
    main()
