from .hooks import (AtomicCheckpointHook, DataCheckHook, FRSKDHook,
                    RandomStateHook)

__all__ = [
    'AtomicCheckpointHook', 'DataCheckHook', 'FRSKDHook', 'RandomStateHook'
]
