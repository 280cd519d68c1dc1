"""DrawSeededSampler + DrawSeededDataset: each draw's augmentation depends on
the draw, not on the process or worker that loads it."""
import pickle

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from torch.utils.data import DataLoader, Dataset

from frskd_mm.datasets import DrawSeededDataset, DrawSeededSampler, SeededIndex


class _Noisy(Dataset):
    """Index plus NumPy and torch noise, as random augmentations draw."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        return float(i) + float(np.random.rand()) + float(torch.rand(()))


def test_sampler_keeps_the_order_and_seeds_each_draw():
    inner = DefaultSampler(_Noisy(), shuffle=True, seed=3)
    sampler = DrawSeededSampler(inner)
    sampler.set_epoch(1)
    first = list(sampler)
    inner.set_epoch(1)
    assert [int(i) for i in first] == list(inner)
    assert all(isinstance(i, SeededIndex) for i in first)
    assert len({i.seed for i in first}) == 6
    sampler.set_epoch(1)
    assert [i.seed for i in sampler] == [i.seed for i in first]
    again = list(sampler)  # a second pass without set_epoch: new seeds
    assert not {i.seed for i in again} & {i.seed for i in first}
    sampler.set_epoch(2)
    assert not {i.seed for i in sampler} & {i.seed for i in first}
    copy = pickle.loads(pickle.dumps(first[0]))
    assert copy == first[0] and copy.seed == first[0].seed


def _epochs(num_workers, persistent=False):
    sampler = DrawSeededSampler(DefaultSampler(_Noisy(), shuffle=True, seed=0))
    loader = DataLoader(
        DrawSeededDataset(_Noisy()),
        batch_size=2,
        sampler=sampler,
        num_workers=num_workers,
        persistent_workers=persistent)
    out = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        out.append(torch.cat(list(loader)).tolist())
    return out


def test_augmentation_is_the_same_in_any_worker_setup():
    np.random.seed(0)
    torch.manual_seed(0)
    reference = _epochs(0)
    assert reference[0] != reference[1]  # epochs differ
    np.random.seed(99)  # the main process's state does not matter
    assert _epochs(0) == reference
    assert _epochs(2) == reference
    assert _epochs(2, persistent=True) == reference


def test_plain_indices_load_as_usual():
    np.random.seed(5)
    torch.manual_seed(5)
    value = DrawSeededDataset(_Noisy())[2]
    np.random.seed(5)
    torch.manual_seed(5)
    assert value == _Noisy()[2]
