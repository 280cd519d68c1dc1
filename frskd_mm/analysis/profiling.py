"""Where the time of a training step goes: torch.profiler's top ops."""
from typing import Any, Dict, List

import torch
import torch.nn as nn
from torch.profiler import ProfilerActivity, profile

from .timing import synchronize, train_step


def profile_steps(model: nn.Module,
                  optim_wrapper,
                  data: dict,
                  device: torch.device,
                  steps: int = 5,
                  top: int = 15) -> Dict[str, Any]:
    """Run ``steps`` training steps under ``torch.profiler`` and return the
    ``top`` ops by self time (device time on CUDA, CPU time otherwise).

    Returns:
        dict: ``steps``, ``sort_by``, ``total_self_ms`` (per step, all ops)
        and ``ops``: per op ``name``, ``calls`` (per step), ``self_ms``
        (per step), ``self_pct`` (of ``total_self_ms``) and ``total_ms``
        (per step, children included).
    """
    if steps < 1:
        raise ValueError(f'--profile must be >= 1 step, got {steps}.')
    cuda = device.type == 'cuda'
    activities = [ProfilerActivity.CPU]
    if cuda:
        activities.append(ProfilerActivity.CUDA)
    synchronize(device)
    with profile(activities=activities) as prof:
        for _ in range(steps):
            train_step(model, optim_wrapper, data)
        synchronize(device)
    events = prof.key_averages()
    key = 'self_device_time_total' if cuda else 'self_cpu_time_total'
    total_key = 'device_time_total' if cuda else 'cpu_time_total'

    def us(event, name):
        # Older torch calls the device times *_cuda_time_total.
        return float(
            getattr(event, name,
                    getattr(event, name.replace('device', 'cuda'), 0.0)))

    rows = sorted(events, key=lambda e: us(e, key), reverse=True)
    total = sum(us(e, key) for e in events) / 1e3 / steps
    ops: List[Dict[str, Any]] = []
    for event in rows[:top]:
        self_ms = us(event, key) / 1e3 / steps
        ops.append(
            dict(
                name=event.key,
                calls=event.count / steps,
                self_ms=self_ms,
                self_pct=100.0 * self_ms / total if total else 0.0,
                total_ms=us(event, total_key) / 1e3 / steps))
    return dict(
        steps=steps,
        sort_by=('self CUDA time' if cuda else 'self CPU time'),
        total_self_ms=total,
        ops=ops)
