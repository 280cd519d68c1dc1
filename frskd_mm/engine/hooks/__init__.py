from .atomic_checkpoint_hook import AtomicCheckpointHook
from .data_check_hook import DataCheckHook
from .frskd_hook import FRSKDHook
from .gradient_source_hook import GradientSourceHook
from .random_state_hook import RandomStateHook

__all__ = [
    'AtomicCheckpointHook', 'DataCheckHook', 'FRSKDHook', 'GradientSourceHook',
    'RandomStateHook'
]
