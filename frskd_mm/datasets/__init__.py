from frskd_mm.utils.packages import package_available
from .collate import collate_with_size_check
from .image_folder import ImageFolder
from .local_cifar import LocalCIFAR10, LocalCIFAR100
from .samplers import DrawSeededSampler, SeededIndex
from .wrappers import DrawSeededDataset

__all__ = [
    'DrawSeededDataset', 'DrawSeededSampler', 'ImageFolder', 'LocalCIFAR10',
    'LocalCIFAR100', 'SeededIndex', 'collate_with_size_check'
]

if package_available('mmseg'):  # segmentation datasets need MMSegmentation
    from .checked_voc import CheckedPascalVOCDataset  # noqa: F401
    from .digit_canvas import DigitCanvasDataset  # noqa: F401
    __all__ += ['CheckedPascalVOCDataset', 'DigitCanvasDataset']
