"""The random states of one process: read, restore, and fork them.

Three generators drive a training process: Python's ``random``, NumPy's
legacy global ``np.random`` and torch's (CPU, and CUDA when initialised).
:func:`get_rng_state` returns them as tensors, ints and tuples only, so they
load with torch's weights-only unpickler.
"""
import contextlib
import random
from typing import Dict, Iterator, List

import numpy as np
import torch


def get_rng_state() -> Dict:
    """The process's random states (see :func:`set_rng_state`)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(
            kind=kind,
            keys=torch.from_numpy(keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(gauss)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict) -> None:
    """Restore what :func:`get_rng_state` returned."""
    random.setstate(_as_tuples(state['python']))
    n = state['numpy']
    np.random.set_state((n['kind'], n['keys'].numpy().astype(np.uint32),
                         n['pos'], n['has_gauss'], n['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    cuda: List = state.get('cuda') or []
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _as_tuples(value):
    """``random.setstate`` needs tuples where a round trip made lists."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuples(v) for v in value)
    return value


@contextlib.contextmanager
def seeded_rng(seed: int) -> Iterator[None]:
    """Run the block with Python, NumPy and torch (CPU) seeded by ``seed``,
    then put the caller's states back.

    Args:
        seed (int): In ``[0, 2**32)``.
    """
    saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed)
    torch.random.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])


def draw_seed(*keys: int) -> int:
    """A 32-bit seed mixed from non-negative integer ``keys``
    (``numpy.random.SeedSequence``)."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])
