"""What FRSKD costs, measured: parameters and FLOPs by role
(:mod:`.cost`), training-step time (:mod:`.timing`) and memory
(:mod:`.memory`), mixed precision and memory layout of the step
(:mod:`.precision`), its top ops (:mod:`.profiling`), the inputs of a
measurement (:mod:`.inputs`), the code and machine measured
(:mod:`.environment`), and the baseline-vs-FRSKD benchmark that combines
them (:mod:`.benchmark`).

``import frskd_mm`` does not import this package; it sits above
:mod:`frskd_mm.models`, :mod:`frskd_mm.engine`, :mod:`frskd_mm.tasks` and
:mod:`frskd_mm.apis`.
"""
from .benchmark import build_for_training, run_benchmark
from .cost import (FLOP_NOTE, analyze_model, count_flops, count_parameters,
                   is_frskd, self_teacher_modules)
from .environment import load_average, source_fingerprint
from .inputs import infer_input_size, random_batch, resolve_device
from .memory import measure_step_memory
from .precision import AMP_DTYPES, set_channels_last
from .profiling import profile_steps
from .timing import SPREAD, summarize_times, timed_step, train_step

__all__ = [
    'AMP_DTYPES', 'profile_steps', 'set_channels_last', 'FLOP_NOTE', 'SPREAD',
    'analyze_model', 'build_for_training', 'count_flops', 'count_parameters',
    'infer_input_size', 'is_frskd', 'load_average', 'measure_step_memory',
    'random_batch', 'resolve_device', 'run_benchmark', 'self_teacher_modules',
    'source_fingerprint', 'summarize_times', 'timed_step', 'train_step'
]
