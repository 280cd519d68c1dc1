"""Write scikit-learn's handwritten digits as an ImageNet-style folder.

The 1,797 8x8 digits (UCI optdigits test set, shipped inside scikit-learn)
are upscaled to 32x32 RGB PNGs and split deterministically: every fifth
image of each class goes to ``test``, the rest to ``train``::

    <out>/train/<digit>/<index>.png   (1,442 images)
    <out>/test/<digit>/<index>.png    (355 images)

MMPretrain reads this layout with ``CustomDataset`` (the demo configs'
dataset type). Running it again on a complete folder does nothing.

Example:
    python tools/dataset_converters/digits_to_folder.py data/digits
"""
import argparse
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np

SIZE = 32


def write_digits(out_dir: str, size: int = SIZE) -> Dict[str, int]:
    """Write the digits; return the number of images per split."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = digits.images  # (1797, 8, 8), values 0..16
    labels = digits.target
    counts = {'train': 0, 'test': 0}
    seen = {c: 0 for c in range(10)}
    stamp = osp.join(out_dir, '.complete')
    if osp.isfile(stamp):
        for split in counts:
            counts[split] = sum(
                len(files)
                for _, _, files in os.walk(osp.join(out_dir, split)))
        return counts
    for index, (img, label) in enumerate(zip(images, labels)):
        label = int(label)
        split = 'test' if seen[label] % 5 == 4 else 'train'
        seen[label] += 1
        gray = np.round(img * (255.0 / 16.0)).astype(np.uint8)
        gray = cv2.resize(gray, (size, size), interpolation=cv2.INTER_LINEAR)
        folder = osp.join(out_dir, split, str(label))
        os.makedirs(folder, exist_ok=True)
        cv2.imwrite(
            osp.join(folder, f'{index:04d}.png'),
            cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
        counts[split] += 1
    open(stamp, 'w').close()
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', nargs='?', default='data/digits')
    args = parser.parse_args()
    counts = write_digits(args.out_dir)
    print(f"Digits in {args.out_dir}: {counts['train']} train, "
          f"{counts['test']} test images")


if __name__ == '__main__':
    main()
