"""Helpers with no project imports: the tools' plumbing, safe checkpoint
loading, atomic writes, random states and data checks."""
from .allocator import tune_cpu_allocator
from .checkpoint import (UnsafeCheckpointError, find_resume_checkpoint,
                         load_checkpoint_file, mmengine_safe_globals,
                         use_safe_checkpoint_loading)
from .distributed import (CPU_MODEL_WRAPPER, configure_cpu_distributed,
                          init_cpu_process_group, needs_cpu_distributed,
                          setup_distributed)

__all__ = [
    'UnsafeCheckpointError', 'find_resume_checkpoint', 'load_checkpoint_file',
    'mmengine_safe_globals', 'use_safe_checkpoint_loading',
    'CPU_MODEL_WRAPPER', 'configure_cpu_distributed', 'init_cpu_process_group',
    'needs_cpu_distributed', 'setup_distributed', 'tune_cpu_allocator'
]
