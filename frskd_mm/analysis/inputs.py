"""The device, the input size and the random batch of a measurement."""
import copy
from typing import List, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config

from ..tasks import TaskAdapter, get_task
from ..utils.dataset_checks import loader_pipeline

#: Pipeline transforms whose argument fixes the size of the training input.
SIZE_TRANSFORMS = {
    'RandomCrop': 'crop_size',
    'RandomResizedCrop': 'scale',
    'CenterCrop': 'crop_size',
    'Resize': 'scale',
    'RandomResize': 'scale',
}


def resolve_device(device: str = 'auto') -> torch.device:
    """``'auto'`` -> CUDA if available, else CPU; ``'cpu'``/``'cuda[:i]'``.

    Raises:
        RuntimeError: If CUDA is asked for but not available.
        ValueError: For any other device type.
    """
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    dev = torch.device(device)
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(
            f'--device {device} asked for CUDA, but torch.cuda.is_available()'
            ' is False here; use --device cpu or --device auto.')
    if dev.type not in ('cpu', 'cuda'):
        raise ValueError(f'Unsupported device {device!r}; use cpu, cuda or '
                         'auto.')
    return dev


def as_hw(size) -> Tuple[int, int]:
    """An int or an (H, W) sequence as an (H, W) tuple of ints."""
    if isinstance(size, int):
        return size, size
    size = tuple(int(s) for s in size)
    if len(size) != 2:
        raise ValueError(f'Expected an int or (H, W) input size, got {size}.')
    return size


def train_pipeline(cfg: Config) -> List[dict]:
    """The transforms of the training dataset (inside dataset wrappers such
    as ``RepeatDataset`` or ``ConcatDataset``), else ``train_pipeline``."""
    return [t for t in loader_pipeline(cfg, 'train') if isinstance(t, dict)]


def infer_input_size(cfg: Config) -> Tuple[int, int]:
    """The (H, W) of one training input, read from the config.

    The task's own keys first (:meth:`TaskAdapter.input_size
    <frskd_mm.tasks.TaskAdapter.input_size>`, e.g. MMSeg's
    ``data_preprocessor.size``), else the last size-fixing transform of the
    training pipeline (``RandomCrop``/``CenterCrop`` ``crop_size``,
    ``RandomResizedCrop``/``Resize`` ``scale``). Sequences are read as
    (H, W), as MMSeg's and MMPretrain's ``crop_size`` are.

    Raises:
        ValueError: If no size is found; pass ``--input-size H W`` then.
    """
    size = get_task(cfg).input_size(cfg)
    if size is not None:
        return as_hw(size)
    for transform in train_pipeline(cfg):
        key = SIZE_TRANSFORMS.get(str(transform.get('type', '')))
        if key is not None and transform.get(key) is not None:
            size = transform[key]
    if size is None:
        raise ValueError(
            'Cannot tell the input size from the config (no task-specific '
            'size such as data_preprocessor.size/crop_size and no '
            'RandomCrop, RandomResizedCrop, CenterCrop or Resize in '
            'train_dataloader.dataset.pipeline); pass --input-size H W.')
    return as_hw(size)


def random_batch(task: TaskAdapter,
                 batch_size: int,
                 size: Tuple[int, int],
                 num_classes: int,
                 seed: int = 0) -> dict:
    """A random raw batch of ``task`` (:meth:`TaskAdapter.make_batch
    <frskd_mm.tasks.TaskAdapter.make_batch>`) drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return task.make_batch(batch_size, as_hw(size), num_classes, generator)


def preprocess(model: nn.Module, raw: dict, seed: int = 0) -> dict:
    """Run the model's data preprocessor once in training mode (batch
    augmentations included), on a copy of ``raw``."""
    torch.manual_seed(seed)
    with torch.no_grad():
        return model.data_preprocessor(copy.deepcopy(raw), True)
