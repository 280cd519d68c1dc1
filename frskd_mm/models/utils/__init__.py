from .conv import TORCH_INIT_CONV, TorchInitConv2d
from .legacy_keys import (LEGACY_KEYS_VERSION, LegacyKeysMixin,
                          conv_module_key_map)

__all__ = [
    'LEGACY_KEYS_VERSION', 'LegacyKeysMixin', 'TORCH_INIT_CONV',
    'TorchInitConv2d', 'conv_module_key_map'
]
