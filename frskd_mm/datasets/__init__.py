from .image_folder import ImageFolder
from .local_cifar import LocalCIFAR10, LocalCIFAR100

__all__ = ['ImageFolder', 'LocalCIFAR10', 'LocalCIFAR100']
