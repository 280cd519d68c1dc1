"""Dataset wrapper that runs each draw's data pipeline under its own seed."""
from typing import Any, Union

from torch.utils.data import Dataset

from frskd_mm.registry import DATASETS
from ...utils.rng import seeded_rng


@DATASETS.register_module()
class DrawSeededDataset(Dataset):
    """Load each sample with the random generators seeded for its draw.

    Indices tagged by :class:`DrawSeededSampler` carry a seed; the wrapped
    dataset's ``__getitem__`` (its pipeline's random crops, flips, ...)
    runs with Python's, NumPy's and torch's generators seeded by it, and
    the caller's random states are put back afterwards. The augmentation of
    a draw is thus the same in the main process and in any DataLoader
    worker, at any age of the worker, and it does not move the main
    process's random streams. Plain integer indices load as usual.

    Args:
        dataset (dict | Dataset): The dataset to wrap (a config is built
            with ``DATASETS``).
    """

    def __init__(self, dataset: Union[dict, Dataset]) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        self.dataset = dataset

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's ``metainfo``."""
        return self.dataset.metainfo

    def full_init(self) -> None:
        """Fully initialise the wrapped dataset (MMEngine's lazy init)."""
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's annotation of ``idx``."""
        return self.dataset.get_data_info(int(idx))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: int) -> Any:
        seed = getattr(idx, 'seed', None)
        if seed is None:
            return self.dataset[idx]
        with seeded_rng(seed):
            return self.dataset[int(idx)]
