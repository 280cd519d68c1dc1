"""The convolution that frskd_mm's mmcv ``ConvModule`` s are built with."""
import torch.nn as nn


class TorchInitConv2d(nn.Conv2d):
    """``nn.Conv2d`` that keeps PyTorch's default initialisation inside mmcv's
    ``ConvModule``.

    ``ConvModule`` re-initialises a plain ``nn.Conv2d`` with Kaiming normal
    (fan-out) unless the conv has its own ``init_weights``. The self-teacher,
    its segmentation decoder and the FitNet regressors are initialised like
    the authors' code, with PyTorch's default (Kaiming uniform,
    ``a=sqrt(5)``); this conv keeps that, so a ``ConvModule`` built with it
    has the initial weights of ``nn.Conv2d``, bit for bit, for a given seed
    (the same random stream). The weights, their names
    and the forward pass are those of ``nn.Conv2d``.
    """

    def init_weights(self) -> None:
        """Nothing to do: the constructor has initialised the weights."""


#: ``conv_cfg`` of ConvModule / DepthwiseSeparableConvModule for
#: :class:`TorchInitConv2d` (mmcv builds a class given as ``type``).
TORCH_INIT_CONV = dict(type=TorchInitConv2d)
