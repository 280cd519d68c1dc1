from .collate import collate_with_size_check
from .image_folder import ImageFolder
from .local_cifar import LocalCIFAR10, LocalCIFAR100
from .samplers import DrawSeededSampler, SeededIndex
from .wrappers import DrawSeededDataset

__all__ = [
    'DrawSeededDataset', 'DrawSeededSampler', 'ImageFolder', 'LocalCIFAR10',
    'LocalCIFAR100', 'SeededIndex', 'collate_with_size_check'
]
