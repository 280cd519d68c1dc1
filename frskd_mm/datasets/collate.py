"""Collate that names the image when a batch cannot be stacked."""
from functools import partial
from typing import Any, Callable, Sequence, Union

from frskd_mm.registry import FUNCTIONS
from ..utils.data_checks import first_shape_mismatch


@FUNCTIONS.register_module()
def collate_with_size_check(data_batch: Sequence[Any],
                            collate_fn: Union[str, dict,
                                              Callable] = 'pseudo_collate'):
    """Run ``collate_fn``; if the images of the batch differ in size, say
    which image and how to fix it instead of torch's stacking error.

    Args:
        data_batch (Sequence): The samples, dicts with ``inputs`` and
            ``data_samples`` (``img_path`` in their metainfo).
        collate_fn (str | dict | Callable): The collate function (a
            ``FUNCTIONS`` name or config, as a dataloader's
            ``collate_fn``). Defaults to MMEngine's ``pseudo_collate``.

    Returns:
        What ``collate_fn`` returns.
    """
    try:
        return _build(collate_fn)(data_batch)
    except RuntimeError as error:
        shapes = [
            tuple(getattr(s.get('inputs'), 'shape',
                          ())) if isinstance(s, dict) else ()
            for s in data_batch
        ]
        i = first_shape_mismatch(shapes)
        if i is None:
            raise
        raise ValueError(
            'The images of one batch have different sizes after the data '
            f'pipeline: {_path(data_batch[0])} gives {shapes[0]} but '
            f'{_path(data_batch[i])} gives {shapes[i]}, so they cannot be '
            "stacked. Resize them in the dataset's pipeline (e.g. "
            "dict(type='ResizeEdge', scale=256, edge='short') and "
            "dict(type='CenterCrop', crop_size=224), or dict(type='Resize', "
            'scale=(32, 32))), or set batch_size=1.') from error


def _build(collate_fn) -> Callable:
    if callable(collate_fn):
        return collate_fn
    if isinstance(collate_fn, str):
        return FUNCTIONS.get(collate_fn)
    cfg = dict(collate_fn)
    return partial(FUNCTIONS.get(cfg.pop('type')), **cfg)


def _path(sample) -> str:
    meta = getattr(sample.get('data_samples'), 'metainfo', {}) \
        if isinstance(sample, dict) else {}
    return meta.get('img_path') or '<an image without img_path>'
