"""Checks that the data a run reads says what the run assumes.

Each returns a description of the first problem it finds (or None), so
that the caller can raise with the names it knows:
:class:`~frskd_mm.engine.hooks.DataCheckHook` (train, val and test sets)
and ``collate_with_size_check`` (images of different sizes in a batch).
The data on disk is checked before any dataset is built by
:func:`frskd_mm.utils.dataset_checks.check_dataset_configs`.
"""
import os.path as osp
from typing import Iterable, List, Optional, Sequence, Tuple

import torch
from PIL import Image


def is_hidden(name: str) -> bool:
    """Folders and files whose names start with a dot (``.ipynb_checkpoints``,
    ``.DS_Store``, ``.git``) are never data."""
    return osp.basename(name.rstrip('/')).startswith('.')


def class_list_difference(reference: Sequence[str],
                          other: Sequence[str]) -> Optional[str]:
    """How ``other`` differs from ``reference`` as a list of class names.

    Returns:
        str | None: None when equal; else which names only one has, or
        where the order differs (a label means a position in the list).
    """
    reference, other = list(reference), list(other)
    if reference == other:
        return None
    missing = [c for c in reference if c not in other]
    extra = [c for c in other if c not in reference]
    parts = []
    if missing:
        parts.append(f'missing {missing}')
    if extra:
        parts.append(f'extra {extra}')
    if not parts:
        first = next(i for i, (a, b) in enumerate(zip(reference, other))
                     if a != b)
        parts.append(f'same names in another order (position {first}: '
                     f'{reference[first]!r} vs {other[first]!r})')
    return ', '.join(parts)


def image_size(path: str) -> Tuple[int, int]:
    """(width, height) of an image file, from its header only."""
    with Image.open(path) as image:
        return image.size


def first_size_mismatch(
    pairs: Iterable[Tuple[str, str]]
) -> Optional[Tuple[str, str, Tuple[int, int], Tuple[int, int]]]:
    """The first (image, label map) pair of different sizes.

    Args:
        pairs: ``(img_path, seg_map_path)`` of local files.

    Returns:
        tuple | None: ``(img_path, seg_map_path, img_size, seg_size)`` with
        sizes as (width, height), or None.
    """
    for img_path, seg_path in pairs:
        img_size, seg_size = image_size(img_path), image_size(seg_path)
        if img_size != seg_size:
            return img_path, seg_path, img_size, seg_size
    return None


def invalid_label_values(label: torch.Tensor, num_classes: int,
                         ignore_index: Optional[int]) -> List[int]:
    """Label values outside ``[0, num_classes)`` that are not
    ``ignore_index`` (sorted; empty if none)."""
    bad = (label < 0) | (label >= num_classes)
    if ignore_index is not None:
        bad &= label != ignore_index
    if not bool(bad.any()):
        return []
    return sorted(int(v) for v in torch.unique(label[bad]))


def first_shape_mismatch(shapes: Sequence[Tuple[int, ...]]) -> Optional[int]:
    """Index of the first shape that differs from ``shapes[0]``, or None."""
    for i, shape in enumerate(shapes):
        if tuple(shape) != tuple(shapes[0]):
            return i
    return None
