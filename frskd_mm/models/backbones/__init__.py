from .tapped_efficientnet import TappedEfficientNet
from .wide_resnet_cifar import WideResNetCIFAR

__all__ = ['TappedEfficientNet', 'WideResNetCIFAR']
