"""The detection demo of tools/demo.py (``--tasks det``): a tiny RetinaNet
from scratch on the digit canvases, baseline vs FRSKD vs the stable recipe.

1. Writes the segmentation demo's digit canvases once more, with one box
   per digit, in COCO format to ``data/digit_boxes``
   (tools/dataset_converters/digit_canvas_to_coco.py).
2. Trains ``configs/demo/{baseline,frskd,frskd_stable}_det_digits.py`` with
   tools/train.py, as tools/demo.py trains the other demos.
3. Reports the val COCO bbox mAP (@[.5:.95], in %) per run and, over
   several seeds, mean, sample std and the paired difference to the
   baseline with its 95 % interval.

Usage (the same as ``python tools/demo.py --tasks det``):
    python tools/demo_detection.py [--seeds 0 1 2] [--work-dir DIR]
"""
import os.path as osp
import sys
from typing import List, Optional

#: The demo's entry in tools/demo.py's DEMOS. MMDetection logs the mAP as a
#: fraction; ``scale`` prints it in %.
DET_DEMO = dict(
    title='tiny RetinaNet on digit canvases (val split, COCO bbox mAP)',
    writer='tools/dataset_converters/digit_canvas_to_coco.py',
    data_root='data/digit_boxes',
    metric='coco/bbox_mAP',
    scale=100.0,
    runs=(('baseline', 'configs/demo/baseline_det_digits.py'),
          ('frskd', 'configs/demo/frskd_det_digits.py'),
          ('stable', 'configs/demo/frskd_stable_det_digits.py')))


def main(argv: Optional[List[str]] = None) -> None:
    """tools/demo.py with ``--tasks det`` and the other arguments."""
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    import demo
    args = list(sys.argv[1:] if argv is None else argv)
    demo.main(args + ['--tasks', 'det'])


if __name__ == '__main__':
    main()
