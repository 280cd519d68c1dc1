from .wide_resnet_cifar import WideResNetCIFAR

__all__ = ['WideResNetCIFAR']
