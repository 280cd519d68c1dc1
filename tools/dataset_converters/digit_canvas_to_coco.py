"""Write the digit canvases with one box per digit, in COCO format.

The canvases are those of digit_canvas_to_seg.py (the segmentation demo's:
64x64 RGB, 1 to 3 of scikit-learn's handwritten digits each, same seed,
same split, disjoint in digits between train and val), here with a box per
pasted digit: the tight box of its labelled pixels (ink covering at least
half of the pixel), category ``digit + 1`` named ``'0'`` .. ``'9'``::

    <out>/train/<index>.png                      (1,200 canvases)
    <out>/val/<index>.png                        (300 canvases)
    <out>/annotations/instances_train.json       (COCO: images,
    <out>/annotations/instances_val.json          annotations, categories)

MMDetection's ``CocoDataset`` reads it with ``metainfo=dict(classes=('0',
..., '9'))``, and ``CocoMetric`` scores it (configs/demo/*_det_digits.py).
Running the script again on a complete folder does nothing.

Example:
    python tools/dataset_converters/digit_canvas_to_coco.py data/digit_boxes
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np


def _canvas_writer():
    """digit_canvas_to_seg.py beside this file, which draws the canvases."""
    path = osp.join(
        osp.dirname(osp.abspath(__file__)), 'digit_canvas_to_seg.py')
    spec = importlib.util.spec_from_file_location('digit_canvas_to_seg', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CANVAS = _canvas_writer()
NUM_CANVASES, make_canvas = _CANVAS.NUM_CANVASES, _CANVAS.make_canvas
split_digits = _CANVAS.split_digits

#: COCO categories: id ``d + 1`` for digit ``d`` (0 is no category in COCO).
CATEGORIES = [dict(id=d + 1, name=str(d)) for d in range(10)]


def write_coco(out_dir: str,
               num_canvases: Dict[str, int] = NUM_CANVASES,
               seed: int = 0) -> Dict[str, int]:
    """Write the canvases and their COCO annotation files; return the
    number of boxes per split.

    Does nothing but count when ``<out_dir>/.complete`` exists (written
    last, so an interrupted run starts over).
    """
    stamp = osp.join(out_dir, '.complete')
    ann_dir = osp.join(out_dir, 'annotations')
    if osp.isfile(stamp):
        counts = {}
        for split in num_canvases:
            with open(osp.join(ann_dir, f'instances_{split}.json')) as f:
                counts[split] = len(json.load(f)['annotations'])
        return counts
    from sklearn.datasets import load_digits
    digits = load_digits()
    pools = split_digits(digits.target)
    os.makedirs(ann_dir, exist_ok=True)
    counts = {}
    # The same generator per split as digit_canvas_to_seg.py: the same
    # canvases.
    for offset, (split, n) in enumerate(sorted(num_canvases.items())):
        rng = np.random.default_rng([seed, offset])
        img_dir = osp.join(out_dir, split)
        os.makedirs(img_dir, exist_ok=True)
        images, annotations = [], []
        for i in range(n):
            instances = []
            img, _ = make_canvas(
                rng,
                digits.images,
                digits.target,
                pools[split],
                instances=instances)
            name = f'{i:05d}.png'
            if not cv2.imwrite(osp.join(img_dir, name), img):
                raise OSError(f'Could not write {name} under {img_dir}.')
            h, w = img.shape[:2]
            images.append(dict(id=i, file_name=name, width=w, height=h))
            for digit, (x0, y0, x1, y1) in instances:
                bw, bh = x1 - x0 + 1, y1 - y0 + 1
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        image_id=i,
                        category_id=digit + 1,
                        bbox=[x0, y0, bw, bh],
                        area=bw * bh,
                        iscrowd=0))
        with open(osp.join(ann_dir, f'instances_{split}.json'), 'w') as f:
            json.dump(
                dict(
                    images=images,
                    annotations=annotations,
                    categories=CATEGORIES), f)
        counts[split] = len(annotations)
    open(stamp, 'w').close()
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', nargs='?', default='data/digit_boxes')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    counts = write_coco(args.out_dir, seed=args.seed)
    print(f'Digit boxes in {args.out_dir}: {counts["train"]} boxes on '
          f'{NUM_CANVASES["train"]} train canvases, {counts["val"]} on '
          f'{NUM_CANVASES["val"]} val canvases (COCO json in '
          f'{osp.join(args.out_dir, "annotations")})')


if __name__ == '__main__':
    main()
