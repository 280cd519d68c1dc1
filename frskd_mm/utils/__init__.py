"""Helpers for the command-line tools (tools/train.py, tools/test.py)."""
from .allocator import tune_cpu_allocator
from .checkpoint import allow_mmengine_checkpoints, mmengine_safe_globals
from .distributed import (CPU_MODEL_WRAPPER, configure_cpu_distributed,
                          init_cpu_process_group, needs_cpu_distributed,
                          setup_distributed)
from .task import TASKS, get_task, setup_task

__all__ = [
    'allow_mmengine_checkpoints', 'mmengine_safe_globals',
    'CPU_MODEL_WRAPPER', 'configure_cpu_distributed',
    'init_cpu_process_group', 'needs_cpu_distributed', 'setup_distributed',
    'TASKS', 'get_task', 'setup_task', 'tune_cpu_allocator'
]
