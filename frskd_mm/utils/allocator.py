"""Serve large CPU tensors from the heap instead of fresh mmap pages.

glibc's malloc hands every block above its mmap threshold (dynamic, at most
32 MiB on 64-bit systems) to a fresh ``mmap`` and returns it to the system
on ``free``; each new block then page-faults on first touch. PyTorch on CPU
frees and re-allocates its activations every step, so maps above that size
(FRSKD's widened level-1 maps: ResNet18-CIFAR at batch 64 gives
64 x 128 x 32 x 32 floats = 32 MiB + 1) pay the page faults on every
element-wise pass. Raising the mmap and trim thresholds keeps freed blocks
in the heap for reuse; memory then stays at the training peak instead of
shrinking between steps (the usual PyTorch CPU advice, as jemalloc or
tcmalloc would do). Values and gradients are unaffected.
"""
import ctypes
import os
import sys

#: Set to ``0`` to leave glibc's malloc settings alone.
ENV_VAR = 'FRSKD_MALLOC_TUNING'
# mallopt parameters from <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_cpu_allocator(mmap_threshold_mb: int = 256,
                       trim_threshold_mb: int = 1024) -> bool:
    """Raise glibc's mmap and trim thresholds (``mallopt``).

    Does nothing on other platforms or C libraries, or when the environment
    variable ``FRSKD_MALLOC_TUNING=0`` is set. The tools (train, test,
    benchmark) call it once at start-up; it affects later allocations of the
    whole process.

    Args:
        mmap_threshold_mb (int): Blocks up to this size come from the heap.
        trim_threshold_mb (int): Free memory kept at the top of the heap.

    Returns:
        bool: Whether both settings were applied.
    """
    if os.environ.get(ENV_VAR, '1') == '0' or \
            not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL('libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return (mallopt(_M_MMAP_THRESHOLD, mmap_threshold_mb << 20) == 1
            and mallopt(_M_TRIM_THRESHOLD, trim_threshold_mb << 20) == 1)
