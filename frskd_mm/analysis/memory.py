"""Peak memory of one training step."""
import ctypes
import gc
import platform
import resource
from typing import Any, Dict, Optional

import torch
import torch.nn as nn

from .timing import synchronize, train_step


def _proc_status_kb(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _malloc_trim() -> None:
    """Return freed heap memory to the OS (glibc), so RSS ~ live memory."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _maxrss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return kb / 1024**2 if platform.system() == 'Darwin' else kb / 1024


def measure_step_memory(model: nn.Module, optim_wrapper, data: dict,
                        device: torch.device) -> Dict[str, Any]:
    """Peak memory of one training step (not timed).

    - CUDA: ``torch.cuda.max_memory_allocated`` over the step (peak of live
      tensors: weights, optimizer state, activations, gradients), and its
      growth over ``memory_allocated`` before the step.
    - CPU (Linux): the process's resident memory. Freed heap memory is
      first returned to the OS (``malloc_trim``), the kernel's peak-RSS mark
      (VmHWM, the value ``getrusage`` reports as ``ru_maxrss``) is reset to
      the current RSS through ``/proc/self/clear_refs``, and after the step
      VmHWM is read: ``step_mb`` = peak RSS during the step minus RSS before
      it (activations, gradients and temporaries of the step; weights and
      optimizer state already exist), ``peak_mb`` = the process's whole
      peak RSS during the step (includes Python, libraries and both models).
    - CPU elsewhere: growth of ``ru_maxrss`` over the step, a lower bound
      that is 0 once an earlier step went higher.

    Returns:
        dict: ``method`` (which of the above), ``peak_mb`` and ``step_mb``.
    """
    gc.collect()
    if device.type == 'cuda':
        synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        train_step(model, optim_wrapper, data)
        synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
        return dict(
            method='cuda max_memory_allocated over the step',
            peak_mb=peak / 1024**2,
            step_mb=(peak - before) / 1024**2)
    _malloc_trim()
    rss = _proc_status_kb('VmRSS')
    if rss is not None and _reset_peak_rss():
        train_step(model, optim_wrapper, data)
        hwm = _proc_status_kb('VmHWM')
        return dict(
            method='cpu peak RSS during the step (VmHWM reset via '
            '/proc/self/clear_refs after malloc_trim) minus RSS before it',
            peak_mb=hwm / 1024,
            step_mb=(hwm - rss) / 1024)
    before = _maxrss_mb()
    train_step(model, optim_wrapper, data)
    after = _maxrss_mb()
    return dict(
        method='cpu ru_maxrss growth over the step (lower bound)',
        peak_mb=after,
        step_mb=after - before)
