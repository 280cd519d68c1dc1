from frskd_mm.utils.packages import package_available
from .collate import collate_with_size_check
from .local_cifar import LocalCIFAR10, LocalCIFAR100
from .samplers import DrawSeededSampler, SeededIndex
from .transforms import EvalResize
from .wrappers import DrawSeededDataset

__all__ = [
    'DrawSeededDataset', 'DrawSeededSampler', 'EvalResize', 'LocalCIFAR10',
    'LocalCIFAR100', 'SeededIndex', 'collate_with_size_check'
]

if package_available('mmseg'):  # segmentation datasets need MMSegmentation
    from .digit_canvas import DigitCanvasDataset  # noqa: F401
    __all__ += ['DigitCanvasDataset']
