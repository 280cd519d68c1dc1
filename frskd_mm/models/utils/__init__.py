from .conv import TORCH_INIT_CONV, TorchInitConv2d
from .legacy_keys import (LEGACY_KEYS_VERSION, LegacyKeysMixin,
                          conv_module_key_map)
from .sla import (NUM_ROTATIONS, aggregate_joint_logits, hard_labels,
                  joint_targets, rotate_batch)

__all__ = [
    'LEGACY_KEYS_VERSION', 'LegacyKeysMixin', 'TORCH_INIT_CONV',
    'TorchInitConv2d', 'conv_module_key_map', 'NUM_ROTATIONS',
    'aggregate_joint_logits', 'hard_labels', 'joint_targets', 'rotate_batch'
]
