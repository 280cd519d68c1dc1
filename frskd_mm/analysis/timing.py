"""One training step, its wall-clock time and the statistics of many."""
import gc
import time
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

#: How the spread of the step times is reported.
SPREAD = ('median of the measured steps; spread = inter-quartile range '
          '(25th-75th percentile, numpy linear interpolation) and min/max; '
          'paired ratio = median of FRSKD/baseline over adjacent steps')


def train_step(model: nn.Module, optim_wrapper, data: dict) -> Dict:
    """One training step on preprocessed ``data``: MMEngine's
    ``BaseModel.train_step`` without the data preprocessor."""
    with optim_wrapper.optim_context(model):
        losses = model(data['inputs'], data['data_samples'], mode='loss')
    loss, log_vars = model.parse_losses(losses)
    optim_wrapper.update_params(loss)
    return log_vars


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing on the CPU."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed_step(model: nn.Module, optim_wrapper, data: dict,
               device: torch.device) -> Tuple[float, Dict]:
    """Wall-clock seconds of one :func:`train_step` (device synchronised;
    Python's garbage collector is run before and paused during it) and its
    ``log_vars``."""
    gc.collect()
    synchronize(device)
    gc.disable()
    try:
        start = time.perf_counter()
        log_vars = train_step(model, optim_wrapper, data)
        synchronize(device)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed, log_vars


def alternate_steps(built: Dict[str, tuple],
                    data: Dict[str, dict],
                    device: torch.device,
                    iters: int,
                    warmup: int,
                    repeats: int,
                    log: Callable = print):
    """Time training steps of several models, alternating them step by step
    (A B A B ...; adjacent steps share the machine's momentary load).

    Args:
        built (dict): Name -> ``(model, optim_wrapper)``, in the order of
            the alternation.
        data (dict): Name -> the preprocessed batch of that model.
        device (torch.device): Where the models are.
        iters (int): Timed steps per model and round.
        warmup (int): Untimed steps per model before the first round.
        repeats (int): Rounds.
        log (callable): Progress messages.

    Returns:
        tuple: ``(times, round_medians, last_losses)``, each a dict by
        name: all step times (seconds), the median of each round, and the
        ``log_vars`` of the last step as floats.
    """
    times: Dict[str, List[float]] = {n: [] for n in built}
    rounds: Dict[str, List[float]] = {n: [] for n in built}
    losses: Dict[str, Dict[str, float]] = {}
    log(f'Warm-up: {warmup} step(s) per model')
    for i in range(warmup):
        for n in built:
            elapsed, _ = timed_step(*built[n], data[n], device)
            log(f'  warm-up {i + 1}/{warmup} {n}: {elapsed * 1e3:.0f} ms')
    for r in range(repeats):
        log(f'Round {r + 1}/{repeats}: {iters} timed step(s) per model, '
            'alternating')
        round_times: Dict[str, List[float]] = {n: [] for n in built}
        for i in range(iters):
            for n in built:
                elapsed, log_vars = timed_step(*built[n], data[n], device)
                round_times[n].append(elapsed)
                log(f'  step {i + 1}/{iters} {n}: {elapsed * 1e3:.0f} ms')
                losses[n] = {k: as_float(v) for k, v in log_vars.items()}
        for n in built:
            times[n] += round_times[n]
            rounds[n].append(float(np.median(round_times[n])))
    return times, rounds, losses


def summarize_times(times: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles, IQR, min, max and mean of step times (seconds)
    and their number ``n``.

    Raises:
        ValueError: If ``times`` is empty.
    """
    t = np.asarray(times, dtype=float)
    if t.size == 0:
        raise ValueError('No measured steps; use --iters >= 1.')
    q25, med, q75 = np.percentile(t, [25, 50, 75])
    return dict(
        median_s=float(med),
        q25_s=float(q25),
        q75_s=float(q75),
        iqr_s=float(q75 - q25),
        min_s=float(t.min()),
        max_s=float(t.max()),
        mean_s=float(t.mean()),
        n=int(t.size))


def as_float(value) -> float:
    """A logged value (tensor or number) as a float (tensors: their
    mean)."""
    if torch.is_tensor(value):
        return float(value.detach().float().mean())
    return float(value)
