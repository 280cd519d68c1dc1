"""FRSKD self-teacher network (Ji et al., CVPR 2021, Sec. 3.1)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from frskd_mm.registry import MODELS
from .bifpn_layer import BiFPNLayer
from .grad_scale import scale_grad
from .self_teacher_features import SelfTeacherFeatures


@MODELS.register_module()
class FRSKDNeck(BaseModule):
    """The self-teacher: refines the student's stage features F_1..F_n.

    Lateral 1x1 convs widen each level to ``d_i = width * c_i`` channels,
    then ``num_layers`` BiFPN-style layers (see :class:`BiFPNLayer`) produce
    refined features T_1..T_n. With ``num_classes`` set, global average
    pooling and a linear layer on T_n give the teacher's logits.

    In training mode the neck returns :class:`SelfTeacherFeatures` (the
    untouched student features with the teacher's outputs attached); in eval
    mode the teacher does not run at all and the backbone features pass
    through, so inference costs exactly what the student alone costs.

    Args:
        in_channels (Sequence[int]): c_1..c_n, the channels of the backbone
            stages in the order the backbone returns them (n >= 2). Set the
            backbone's ``out_indices`` to all of these stages.
        width (int): Width multiplier w of the self-teacher. Defaults to 2.
        depth (int): Separable convolutions per fusion block. Defaults to 2.
        num_layers (int): Number of stacked BiFPN layers. Defaults to 1.
        num_classes (int, optional): Classes of the teacher's classifier;
            None builds no classifier. Defaults to None.
        last_layer_top_down_only (bool): Give the last layer no bottom-up
            path, so the refined features are its top-down maps P_1..P_n,
            as in the authors' segmentation teacher. Use it when the
            teacher reads only the finest level (segmentation decoders);
            otherwise the bottom-up path would get no gradient. Defaults to
            False (the classification teacher).
        channels_last (bool): Run the self-teacher in channels-last memory
            format (inputs are converted on entry). Its many depthwise and
            1x1 convolutions are faster that way on CPU (oneDNN); the values
            are the same. Defaults to True.
        eval_teacher (bool): Run the self-teacher in eval mode too, so that
            validation can report its accuracy (``TeacherAccuracy``). Costs
            a teacher forward pass per batch. Defaults to False.
        backbone_grad_scale (float): Factor on the gradient that the
            self-teacher's losses send back into the backbone through
            F_1..F_n. 1 is the paper's method (the teacher's CE also trains
            the backbone); 0 trains the self-teacher on detached features;
            values in between damp the coupling. Not in the paper: an
            option of ours (see docs/frskd_study.md). Defaults to 1.
        norm_cfg (dict, optional): Normalisation layers of the self-teacher
            (mmcv names). Defaults to ``dict(type='BN')``, the paper's;
            multi-GPU segmentation configs pass their ``SyncBN`` (MMEngine
            turns it back into BN for single-process runs).
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 width: int = 2,
                 depth: int = 2,
                 num_layers: int = 1,
                 num_classes: Optional[int] = None,
                 last_layer_top_down_only: bool = False,
                 channels_last: bool = True,
                 eval_teacher: bool = False,
                 backbone_grad_scale: float = 1.0,
                 norm_cfg: Optional[dict] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = list(in_channels)
        if len(in_channels) < 2 or not all(
                isinstance(c, int) and c > 0 for c in in_channels):
            raise ValueError(
                'FRSKDNeck.in_channels must list the channels of >= 2 '
                f'backbone stages as positive ints, got {in_channels}.')
        if width < 1 or depth < 1 or num_layers < 1:
            raise ValueError('width, depth and num_layers must be >= 1, got '
                             f'{width}, {depth}, {num_layers}.')
        if backbone_grad_scale < 0:
            raise ValueError('FRSKDNeck.backbone_grad_scale must be >= 0, '
                             f'got {backbone_grad_scale}.')
        self.in_channels = in_channels
        self.width = width
        self.backbone_grad_scale = backbone_grad_scale
        self.out_channels = [width * c for c in in_channels]
        self.num_classes = num_classes
        self.eval_teacher = eval_teacher
        self.layers = nn.ModuleList(
            BiFPNLayer(
                in_channels if i == 0 else self.out_channels,
                self.out_channels,
                depth,
                with_lateral=i == 0,
                bottom_up=not (last_layer_top_down_only and i == num_layers -
                               1),
                norm_cfg=norm_cfg) for i in range(num_layers))
        self.fc = nn.Linear(self.out_channels[-1], num_classes) \
            if num_classes else None
        self.memory_format = torch.channels_last if channels_last \
            else torch.contiguous_format
        self.to(memory_format=self.memory_format)
        self._inputs_checked = False

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        """Args:
            inputs (tuple[Tensor]): F_1..F_n from the backbone, level i of
                shape (N, c_i, H_i, W_i).

        Returns:
            tuple[Tensor]: In eval mode, ``inputs`` unchanged (unless
            ``eval_teacher``). In training mode, :class:`SelfTeacherFeatures`
            with ``refined`` T_1..T_n (level i of shape (N, d_i, H_i, W_i))
            and ``teacher_logits`` (N, num_classes) or None.
        """
        if not self.training and not self.eval_teacher:
            return inputs
        if not self._inputs_checked:
            self.check_inputs(inputs)
        feats = [
            scale_grad(x, self.backbone_grad_scale).contiguous(
                memory_format=self.memory_format) for x in inputs
        ]
        for layer in self.layers:
            feats = layer(feats)
        logits = None
        if self.fc is not None:
            logits = self.fc(F.adaptive_avg_pool2d(feats[-1], 1).flatten(1))
        return SelfTeacherFeatures(inputs, feats, logits)

    def check_inputs(self, inputs: Tuple[Tensor, ...]) -> None:
        """Raise, naming the config keys, unless ``inputs`` are n stage maps
        with the configured ``in_channels``.

        Args:
            inputs (tuple[Tensor]): The backbone's outputs.
        """
        if not isinstance(inputs, (tuple, list)):
            raise TypeError('FRSKDNeck expects the tuple of stage features '
                            f'from the backbone, got {type(inputs).__name__}.')
        if len(inputs) != len(self.in_channels):
            raise ValueError(
                f'FRSKDNeck was configured for {len(self.in_channels)} '
                f'levels (in_channels={self.in_channels}) but the backbone '
                f'returned {len(inputs)} feature maps '
                f'{[int(f.shape[1]) for f in inputs]}. Set '
                'model.backbone.out_indices to every stage the self-teacher '
                'refines, or fix model.neck.in_channels.')
        for i, (x, c) in enumerate(zip(inputs, self.in_channels)):
            if x.dim() != 4 or x.shape[1] != c:
                raise ValueError(
                    f'FRSKDNeck level {i}: expected {c} channels from the '
                    f'backbone, got a tensor of shape {tuple(x.shape)}. '
                    'model.neck.in_channels must equal the backbone stage '
                    f'channels {[int(f.shape[1]) for f in inputs]}.')
        self._inputs_checked = True
