"""Random states: read, restore (also through a weights-only checkpoint),
fork."""
import random

import numpy as np
import torch

from frskd_mm.utils import load_checkpoint_file
from frskd_mm.utils.rng import (draw_seed, get_rng_state, seeded_rng,
                                set_rng_state)


def _draws():
    return (random.random(), float(np.random.rand()), float(np.random.randn()),
            float(torch.rand(())))


def test_state_round_trips_through_a_checkpoint(tmp_path):
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    np.random.randn()  # leaves a cached Gaussian in NumPy's state
    torch.save(dict(rng_state=get_rng_state()), tmp_path / 'c.pth')
    expected = _draws()
    set_rng_state(load_checkpoint_file(str(tmp_path / 'c.pth'))['rng_state'])
    assert _draws() == expected


def test_seeded_block_is_reproducible_and_leaves_the_stream_alone():
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    outer = get_rng_state()
    with seeded_rng(123):
        first = _draws()
    with seeded_rng(123):
        assert _draws() == first
    after_blocks = _draws()
    set_rng_state(outer)
    assert _draws() == after_blocks  # the blocks consumed nothing outside


def test_draw_seeds_differ_by_every_key():
    seeds = {
        draw_seed(0, 0, e, r, p)
        for e in range(3)
        for r in range(2)
        for p in range(50)
    }
    assert len(seeds) == 300 and all(0 <= s < 2**32 for s in seeds)
    assert draw_seed(5, 1, 2) == draw_seed(5, 1, 2)
