"""The segmentation classifier of the authors' FRSKD code (Ji et al., CVPR
2021; ``segmentation/utils/efficientdet.py``, ``classifier1``)."""
import warnings
from typing import Optional, Sequence, Union

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from frskd_mm.registry import MODELS
from ..utils import TORCH_INIT_CONV


@MODELS.register_module()
class SegBiFPNHead(BaseDecodeHead):
    """``conv3x3 (bias) -> norm -> ReLU -> conv3x3 (bias)`` on one level.

    The authors' student classifier on the finest BiFPN output (P2, stride
    4): ``conv3x3 (in_channels -> channels, with bias) -> BN (eps 1e-4,
    momentum 0.997) -> ReLU`` (``self.conv``) then a 3x3 ``conv_seg``
    (``channels -> out_channels``, padding 1, with bias) replacing
    BaseDecodeHead's 1x1 one. The logits are resized to the label size by
    MMSeg's ``loss_by_feat``/``predict_by_feat`` (bilinear, like their
    upsampling to the image size with ``align_corners=False``).

    All convs keep PyTorch's default initialisation, as theirs:
    ``self.conv`` is built with
    :class:`~frskd_mm.models.utils.TorchInitConv2d` and the default
    ``init_cfg`` is None, which overrides BaseDecodeHead's default
    (normal init, std 0.01, of ``conv_seg``).

    Use it with :class:`~frskd_mm.models.necks.SegBiFPN`, as the
    ``decode_head`` of an ``EncoderDecoder`` or as the ``student`` of
    :class:`~frskd_mm.models.heads.FRSKDSegHead`.

    Args:
        in_channels (int | Sequence[int]): Channels of the level read
            (``in_index``), e.g. SegBiFPN's width.
        channels (int): Hidden channels. Defaults to 256, as theirs.
        in_index (int | Sequence[int]): The level read. Defaults to 0, the
            finest (their P2).
        dropout_ratio (float): Dropout before ``conv_seg``. Defaults to 0
            (they have none).
        norm_cfg (dict, optional): Norm after the first conv. Defaults to
            theirs, ``dict(type='BN', eps=1e-4, momentum=0.997)``.
        conv_cfg (dict, optional): Conv of the first ConvModule. Defaults to
            ``TORCH_INIT_CONV`` (PyTorch's default init).
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to None (PyTorch's default init of every conv).
        **kwargs: The other BaseDecodeHead arguments (``num_classes``,
            ``align_corners``, ``loss_decode``, ``ignore_index``, ...).

    Shapes:
        input: the selected level, (N, in_channels, H, W).
        output: logits, (N, out_channels, H, W).
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 channels: int = 256,
                 *,
                 in_index: Union[int, Sequence[int]] = 0,
                 dropout_ratio: float = 0.0,
                 norm_cfg: Optional[dict] = dict(
                     type='BN', eps=1e-4, momentum=0.997),
                 conv_cfg: Optional[dict] = TORCH_INIT_CONV,
                 init_cfg: Optional[Union[dict, list]] = None,
                 **kwargs) -> None:
        super().__init__(
            in_channels,
            channels,
            in_index=in_index,
            dropout_ratio=dropout_ratio,
            norm_cfg=norm_cfg,
            conv_cfg=conv_cfg,
            init_cfg=init_cfg,
            **kwargs)
        with warnings.catch_warnings():  # their conv has a bias before BN
            warnings.filterwarnings('ignore', 'Unnecessary conv bias')
            self.conv = ConvModule(
                self.in_channels,
                self.channels,
                3,
                padding=1,
                bias=True,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg)
        # The authors' last conv is 3x3 (BaseDecodeHead builds a 1x1 one).
        self.conv_seg = nn.Conv2d(
            self.channels, self.out_channels, 3, padding=1)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args:
            inputs (Sequence[Tensor]): The neck's levels; ``in_index``
                selects (N, in_channels, H, W).

        Returns:
            Tensor: Logits, (N, out_channels, H, W).
        """
        return self.cls_seg(self.conv(self._transform_inputs(inputs)))
