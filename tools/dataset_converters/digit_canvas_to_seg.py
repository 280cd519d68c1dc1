"""Write digit canvases, a small real-data segmentation set, in MMSeg's format.

Each 64x64 RGB canvas holds 1 to 3 of scikit-learn's handwritten digits
(the 1,797 8x8 UCI optdigits images shipped inside scikit-learn), each
upscaled to a random size between 16 and 32 pixels, pasted at a random
position without overlapping the others, in a random bright colour on a
random dark, slightly noisy background. The label map gives every pixel
where a digit's ink covers at least half of the pixel the class
``digit + 1``; all other pixels are background (0)::

    <out>/img_dir/train/<index>.png   (1,200 canvases)
    <out>/ann_dir/train/<index>.png   (uint8 labels 0..10)
    <out>/img_dir/val/<index>.png     (300 canvases)
    <out>/ann_dir/val/<index>.png

The split is fixed (seed 0) and disjoint in digits as well as canvases:
every fifth image of each digit class (as in digits_to_folder.py) is only
pasted on validation canvases, the others only on training canvases.
frskd_mm's ``DigitCanvasDataset`` reads this layout (classes
``background``, ``0`` .. ``9``). Running the script again on a complete
folder does nothing.

Example:
    python tools/dataset_converters/digit_canvas_to_seg.py data/digit_canvas
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

SIZE = 64
NUM_CANVASES = {'train': 1200, 'val': 300}
SCALE_RANGE = (16, 32)  # side of a pasted digit, pixels
MAX_DIGITS = 3
INK_THRESHOLD = 0.5  # ink coverage from which a pixel belongs to the digit


def split_digits(labels: np.ndarray) -> Dict[str, List[int]]:
    """Indices of the digits pasted on training and validation canvases.

    Every fifth image of each class goes to ``val``, the rest to ``train``.
    """
    seen = {c: 0 for c in range(10)}
    split = {'train': [], 'val': []}
    for index, label in enumerate(labels):
        label = int(label)
        split['val' if seen[label] % 5 == 4 else 'train'].append(index)
        seen[label] += 1
    return split


def _place(rng: np.random.Generator,
           size: int,
           boxes: List[Tuple[int, ...]],
           canvas: int,
           tries: int = 20):
    """A top-left corner for a ``size`` square not overlapping ``boxes``."""
    for _ in range(tries):
        y, x = (int(v) for v in rng.integers(0, canvas - size + 1, 2))
        if all(y + size <= y0 or y >= y0 + s0 or x + size <= x0 or x >= x0 + s0
               for y0, x0, s0 in boxes):
            return y, x
    return None


def make_canvas(
        rng: np.random.Generator,
        images: np.ndarray,
        labels: np.ndarray,
        pool: List[int],
        size: int = SIZE,
        instances: Optional[list] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Compose one canvas.

    Args:
        rng (np.random.Generator): Source of all random choices.
        images (np.ndarray): scikit-learn digits, shape (N, 8, 8), values
            0..16.
        labels (np.ndarray): Their digit classes, shape (N, ).
        pool (list[int]): Indices of the digits this canvas may use.
        size (int): Side of the canvas in pixels.
        instances (list, optional): If given, receives ``(digit, (x0, y0,
            x1, y1))`` per pasted digit: the box of its labelled pixels
            (inclusive pixel indices), for the box annotations of
            digit_canvas_to_coco.py. The random draws are the same with or
            without it.

    Returns:
        tuple[np.ndarray, np.ndarray]: The BGR image, shape (size, size, 3),
        uint8; and the label map, shape (size, size), uint8, 0 for
        background and ``digit + 1`` for ink.
    """
    background = rng.integers(0, 90, 3).astype(np.float32)
    img = background + rng.normal(0, 8, (size, size, 3)).astype(np.float32)
    seg = np.zeros((size, size), dtype=np.uint8)
    boxes: List[Tuple[int, int, int]] = []
    for _ in range(int(rng.integers(1, MAX_DIGITS + 1))):
        side = int(rng.integers(SCALE_RANGE[0], SCALE_RANGE[1] + 1))
        corner = _place(rng, side, boxes, size)
        if corner is None:
            continue
        y, x = corner
        boxes.append((y, x, side))
        index = int(rng.choice(pool))
        ink = cv2.resize(
            images[index].astype(np.float32) / 16.0, (side, side),
            interpolation=cv2.INTER_LINEAR)
        ink = np.clip(ink, 0.0, 1.0)[..., None]
        colour = rng.integers(150, 256, 3).astype(np.float32)
        patch = img[y:y + side, x:x + side]
        img[y:y + side, x:x + side] = patch * (1.0 - ink) + colour * ink
        mask = ink[..., 0] >= INK_THRESHOLD
        seg[y:y + side, x:x + side][mask] = int(labels[index]) + 1
        if instances is not None and mask.any():
            ys, xs = np.nonzero(mask)
            instances.append(
                (int(labels[index]), (x + int(xs.min()), y + int(ys.min()),
                                      x + int(xs.max()), y + int(ys.max()))))
    return np.clip(np.round(img), 0, 255).astype(np.uint8), seg


def write_canvases(out_dir: str,
                   num_canvases: Dict[str, int] = NUM_CANVASES,
                   seed: int = 0) -> Dict[str, int]:
    """Write the canvases and label maps; return the count per split.

    Does nothing but count when ``<out_dir>/.complete`` exists (written
    last, so an interrupted run starts over).
    """
    stamp = osp.join(out_dir, '.complete')
    if osp.isfile(stamp):
        return {
            split: len(os.listdir(osp.join(out_dir, 'img_dir', split)))
            for split in num_canvases
        }
    from sklearn.datasets import load_digits
    digits = load_digits()
    pools = split_digits(digits.target)
    counts = {}
    for offset, (split, n) in enumerate(sorted(num_canvases.items())):
        rng = np.random.default_rng([seed, offset])
        img_dir = osp.join(out_dir, 'img_dir', split)
        ann_dir = osp.join(out_dir, 'ann_dir', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(n):
            img, seg = make_canvas(rng, digits.images, digits.target,
                                   pools[split])
            name = f'{i:05d}.png'
            if not (cv2.imwrite(osp.join(img_dir, name), img)
                    and cv2.imwrite(osp.join(ann_dir, name), seg)):
                raise OSError(f'Could not write {name} under {out_dir}.')
        counts[split] = n
    open(stamp, 'w').close()
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', nargs='?', default='data/digit_canvas')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    counts = write_canvases(args.out_dir, seed=args.seed)
    print(f"Digit canvases in {args.out_dir}: {counts['train']} train, "
          f"{counts['val']} val images")


if __name__ == '__main__':
    main()
