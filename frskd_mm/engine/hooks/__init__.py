from .atomic_checkpoint_hook import AtomicCheckpointHook
from .data_check_hook import DataCheckHook
from .frskd_hook import FRSKDHook
from .random_state_hook import RandomStateHook

__all__ = [
    'AtomicCheckpointHook', 'DataCheckHook', 'FRSKDHook', 'RandomStateHook'
]
