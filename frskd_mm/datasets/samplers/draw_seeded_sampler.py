"""Sampler wrapper that gives every draw of an index its own seed."""
from typing import Iterator, Optional, Union

from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from frskd_mm.registry import DATA_SAMPLERS
from ...utils.rng import draw_seed


class SeededIndex(int):
    """A dataset index that carries the seed of its draw.

    It is an ``int`` everywhere (indexing, comparisons, pickling into
    DataLoader workers); :class:`DrawSeededDataset` reads ``seed``.
    """

    def __new__(cls, index: int, seed: int) -> 'SeededIndex':
        obj = super().__new__(cls, index)
        obj.seed = seed
        return obj

    def __reduce__(self):
        return SeededIndex, (int(self), self.seed)


@DATA_SAMPLERS.register_module()
class DrawSeededSampler(Sampler):
    """Yield the indices of ``sampler``, each tagged with a seed for its draw.

    The seed of a draw is mixed from the sampler's seed, the rank, the epoch
    set by ``set_epoch`` (``DistSamplerSeedHook``), how many times the
    sampler was iterated since, and the position in that iteration. It does
    not depend on which worker process loads the sample, nor on how long
    that worker has lived, so a resumed run augments each draw exactly as
    the uninterrupted run did (see :class:`DrawSeededDataset`). The order of
    the indices is ``sampler``'s own.

    Args:
        sampler (dict | Sampler): The sampler to wrap, e.g.
            ``dict(type='DefaultSampler', shuffle=True)``.
        dataset: The dataset (passed on to ``sampler``'s config).
        seed (int, optional): The runner's seed (passed on to ``sampler``'s
            config). The wrapped sampler's ``seed`` is used if it has one.
    """

    def __init__(self,
                 sampler: Union[dict, Sampler],
                 dataset=None,
                 seed: Optional[int] = None) -> None:
        if isinstance(sampler, dict):
            sampler = DATA_SAMPLERS.build(
                sampler, default_args=dict(dataset=dataset, seed=seed))
        self.sampler = sampler
        seed = getattr(sampler, 'seed', seed)
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.rank = get_dist_info()[0]
        self.epoch = 0
        self._round = 0

    @property
    def dataset(self):
        """The wrapped sampler's dataset (batch samplers such as
        MMDetection's ``AspectRatioBatchSampler`` read image sizes from
        it)."""
        return self.sampler.dataset

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch here and in the wrapped sampler."""
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)
        self.epoch = epoch
        self._round = 0

    def __iter__(self) -> Iterator[SeededIndex]:
        epoch, round_ = self.epoch, self._round
        self._round += 1
        return self._draws(epoch, round_)

    def _draws(self, epoch: int, round_: int) -> Iterator[SeededIndex]:
        base = self.seed % 2**32
        for position, index in enumerate(self.sampler):
            yield SeededIndex(
                index, draw_seed(base, self.rank, epoch, round_, position))

    def __len__(self) -> int:
        return len(self.sampler)
