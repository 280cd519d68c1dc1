from .conv import TORCH_INIT_CONV, TorchInitConv2d
from .legacy_keys import (LEGACY_KEYS_VERSION, LegacyKeysMixin,
                          conv_module_key_map)
from .same_padding import (StaticSamePadConv2d, same_padding,
                           use_static_same_padding)
from .sla import (NUM_ROTATIONS, aggregate_joint_logits, hard_labels,
                  joint_targets, rotate_batch)

__all__ = [
    'LEGACY_KEYS_VERSION', 'LegacyKeysMixin', 'TORCH_INIT_CONV',
    'TorchInitConv2d', 'conv_module_key_map', 'NUM_ROTATIONS',
    'aggregate_joint_logits', 'hard_labels', 'joint_targets', 'rotate_batch',
    'StaticSamePadConv2d', 'same_padding', 'use_static_same_padding'
]
