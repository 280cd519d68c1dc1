"""FRSKD self-teacher network (Ji et al., CVPR 2021, Sec. 3.1)."""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from frskd_mm.registry import MODELS
from ...utils.config_types import config_type_name
from ..utils.teacher_rng import init_student_then_teacher, teacher_rng
from .bifpn_layer import BiFPNLayer  # noqa: F401 - registers the default


class _ScaleGrad(torch.autograd.Function):
    """Identity in the forward pass, the gradient times ``scale`` in the
    backward pass (:func:`scale_grad`)."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad * ctx.scale, None


def scale_grad(x: Tensor, scale: float) -> Tensor:
    """Return ``x`` unchanged; the gradient flowing back through it is
    multiplied by ``scale`` (0 detaches, 1 is the identity).

    Args:
        x (Tensor): Any tensor.
        scale (float): Gradient factor, >= 0.

    Returns:
        Tensor: ``x`` (a view of it, unless ``scale`` is 0 or 1).
    """
    if scale == 1:
        return x
    if scale == 0:
        return x.detach()
    return _ScaleGrad.apply(x, scale)


class SelfTeacherFeatures(tuple):
    """The backbone's features F_1..F_n, carrying the self-teacher's outputs.

    It is a plain tuple of the student features, so any head, auxiliary head
    or metric that indexes the neck's output sees exactly what the backbone
    produced; FRSKD heads read the extra attributes.

    Attributes:
        refined (tuple[Tensor]): Refined features T_1..T_n, level i of shape
            (N, d_i, H_i, W_i).
        teacher_logits (Tensor | None): The self-teacher's class logits,
            shape (N, num_classes), or None when the neck has no classifier
            (segmentation heads decode ``refined`` themselves).
        student_preact (tuple[Tensor] | None): F_1..F_n before their last
            ReLU, when a feature loss asked for them (the OD loss), else
            None.
        refined_preact (tuple[Tensor] | None): T_1..T_n before their ReLU,
            likewise.
    """

    refined: tuple
    teacher_logits: Optional[Tensor]
    student_preact: Optional[tuple]
    refined_preact: Optional[tuple]

    def __new__(cls,
                student: Sequence[Tensor],
                refined: Sequence[Tensor],
                teacher_logits: Optional[Tensor] = None,
                student_preact: Optional[Sequence[Tensor]] = None,
                refined_preact: Optional[Sequence[Tensor]] = None):
        obj = super().__new__(cls, student)
        obj.refined = tuple(refined)
        obj.teacher_logits = teacher_logits
        obj.student_preact = None if student_preact is None else tuple(
            student_preact)
        obj.refined_preact = None if refined_preact is None else tuple(
            refined_preact)
        return obj


@MODELS.register_module()
class FRSKDNeck(BaseModule):
    """The self-teacher: refines the student's features F_1..F_n.

    F_1..F_n are the backbone's stages, or, with an inner ``neck``, that
    neck's outputs (e.g. an FPN's levels, as the authors' segmentation
    teacher refines their decoder's P2-P7). ``num_layers`` layers of
    ``layer_cfg`` produce refined features T_1..T_n with ``d_i = width *
    c_i`` channels; the first layer's lateral convs widen F_i to d_i. With
    ``num_classes`` set, global average pooling and a linear layer on T_n
    give the teacher's logits.

    In training mode the neck returns :class:`SelfTeacherFeatures` (the
    untouched student features with the teacher's outputs attached); in eval
    mode the teacher does not run at all: the backbone features (or the
    inner neck's outputs) pass through, so inference costs exactly what the
    student alone costs.

    Args:
        in_channels (Sequence[int]): c_1..c_n, the channels of the features
            the self-teacher refines (n >= 2), in their order: the backbone
            stages (set the backbone's ``out_indices`` to all of them) or,
            with ``neck``, that neck's output levels.
        width (int): Width multiplier w of the self-teacher: level i has
            ``d_i = w * c_i`` channels (the authors' ``BiFPNc``). Defaults
            to 2.
        out_channels (int, optional): One width for every level instead
            (``d_i = out_channels``, ``width`` unused): the authors'
            uniform-width ``BiFPN`` of the paper's ablation (their default
            256), with ``layer_cfg=dict(type='BiFPNLayer',
            resample_conv=False)``. Defaults to None.
        depth (int): Separable convolutions per fusion block of the default
            layer (:class:`BiFPNLayer`). Defaults to 2.
        num_layers (int): Number of stacked BiFPN layers. Defaults to 1.
        neck (dict, optional): The student's own neck, e.g.
            ``dict(type='FPN', ...)``, built in the config's scope. It runs
            in training and inference and is part of the deployed student
            (exported as ``model.neck``); the self-teacher refines its
            outputs. None (the default) refines the backbone's stages.
        layer_cfg (dict, optional): The self-teacher's layer: a registered
            type taking ``in_channels``, ``out_channels`` (lists),
            ``with_lateral``, ``bottom_up`` and ``norm_cfg``, plus its own
            keys. Defaults to ``dict(type='BiFPNLayer', depth=depth)``, the
            classification teacher; ``dict(type='SegBiFPNLayer')`` is the
            authors' segmentation teacher layer (one width, ``width=1``).
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
            :class:`~frskd_mm.engine.hooks.FRSKDHook` can schedule it
            (``ramp_teacher_grad``): it sets ``grad_factor`` in [0, 1]
            before every iteration, and the gradient is scaled by
            ``backbone_grad_scale * grad_factor``.
        norm_cfg (dict, optional): Normalisation layers of the self-teacher
            (mmcv names). Defaults to ``dict(type='BN')``, the paper's;
            multi-GPU segmentation configs pass their ``SyncBN`` (MMEngine
            turns it back into BN for single-process runs).
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 width: int = 2,
                 out_channels: Optional[int] = None,
                 depth: int = 2,
                 num_layers: int = 1,
                 neck: Optional[dict] = None,
                 layer_cfg: Optional[dict] = None,
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
                'levels (backbone stages, or the inner neck\'s outputs) as '
                f'positive ints, got {in_channels}.')
        if width < 1 or depth < 1 or num_layers < 1:
            raise ValueError('width, depth and num_layers must be >= 1, got '
                             f'{width}, {depth}, {num_layers}.')
        if backbone_grad_scale < 0:
            raise ValueError('FRSKDNeck.backbone_grad_scale must be >= 0, '
                             f'got {backbone_grad_scale}.')
        self.in_channels = in_channels
        self.width = width
        self.backbone_grad_scale = backbone_grad_scale
        self.grad_factor = 1.0  # set by FRSKDHook(ramp_teacher_grad=True)
        if out_channels is not None and not (isinstance(out_channels, int)
                                             and out_channels > 0):
            raise ValueError('FRSKDNeck.out_channels must be a positive int '
                             f'(one width for all levels), got '
                             f'{out_channels!r}.')
        self.uniform_width = out_channels
        self.out_channels = [out_channels] * len(in_channels) \
            if out_channels else [width * c for c in in_channels]
        self.num_classes = num_classes
        self.eval_teacher = eval_teacher
        self.neck = _build_inner_neck(neck)
        if layer_cfg is None:
            layer_cfg = dict(type='BiFPNLayer', depth=depth)
        with teacher_rng():  # the student's parts start as the baseline's
            self.layers = nn.ModuleList(
                _build_layer(
                    layer_cfg,
                    in_channels=in_channels if i == 0 else self.out_channels,
                    out_channels=self.out_channels,
                    with_lateral=i == 0,
                    bottom_up=not (
                        last_layer_top_down_only and i == num_layers - 1),
                    norm_cfg=norm_cfg) for i in range(num_layers))
            self.fc = nn.Linear(self.out_channels[-1], num_classes) \
                if num_classes else None
        self.memory_format = torch.channels_last if channels_last \
            else torch.contiguous_format
        # The teacher only: the inner neck keeps the student's layout.
        self.layers.to(memory_format=self.memory_format)
        self._inputs_checked = False
        self.preact_source = None  # see record_preact

    def init_weights(self) -> None:
        """The inner neck (the student's) from the global random stream,
        the self-teacher from its own (:mod:`~frskd_mm.models.utils.
        teacher_rng`), so the parts of the model built after it start as
        in the baseline."""
        init_student_then_teacher(self, [self.neck])

    def width_origin(self, level: int) -> str:
        """Where refined level ``level``'s width comes from, as config
        keys, for error messages."""
        if self.uniform_width:
            return f'model.neck.out_channels={self.uniform_width}'
        return (f'model.neck.width={self.width} x '
                f'{self.in_channels[level]}')

    def student_features(self, inputs: Tuple[Tensor,
                                             ...]) -> Tuple[Tensor, ...]:
        """F_1..F_n: the inner neck's outputs, or ``inputs`` without one.

        Args:
            inputs (tuple[Tensor]): The backbone's outputs.

        Returns:
            tuple[Tensor]: Level i of shape (N, c_i, H_i, W_i).
        """
        if self.neck is None:
            return inputs
        return tuple(self.neck(inputs))

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        """Args:
            inputs (tuple[Tensor]): The backbone's outputs: F_1..F_n, level
                i of shape (N, c_i, H_i, W_i), or the inner neck's inputs.

        Returns:
            tuple[Tensor]: In eval mode, F_1..F_n (``inputs`` unchanged
            without an inner neck), unless ``eval_teacher``. In training
            mode, :class:`SelfTeacherFeatures` of F_1..F_n with ``refined``
            T_1..T_n (level i of shape (N, d_i, H_i, W_i)) and
            ``teacher_logits`` (N, num_classes) or None.
        """
        inputs = self.student_features(inputs)
        if not self.training and not self.eval_teacher:
            return inputs
        if not self._inputs_checked:
            self.check_inputs(inputs)
        grad_scale = self.backbone_grad_scale * self.grad_factor
        feats = [
            scale_grad(x,
                       grad_scale).contiguous(memory_format=self.memory_format)
            for x in inputs
        ]
        preact = self.preact_source is not None
        refined_preact = student_preact = None
        for k, layer in enumerate(self.layers):
            if preact and k == len(self.layers) - 1:
                feats, refined_preact = layer(feats, preact=True)
            else:
                feats = layer(feats)
        logits = None
        if self.fc is not None:
            logits = self.fc(F.adaptive_avg_pool2d(feats[-1], 1).flatten(1))
        if preact:
            student_preact = self.preact_source()
        return SelfTeacherFeatures(inputs, feats, logits, student_preact,
                                   refined_preact)

    def record_preact(self, source: Optional[Callable[[], Sequence[Tensor]]]):
        """Also return the pre-activation features in training (for the OD
        feature loss): T_1..T_n before their ReLU from the last layer, and
        F_1..F_n before their last ReLU from ``source``.

        Args:
            source (callable, optional): Returns the student's
                pre-activation features of the current forward pass (see
                :class:`~frskd_mm.models.preact.PreActRecorder`); None
                switches it off.
        """
        if source is not None:
            self.preact_norms()  # raises if the last layer has no preact
        self.preact_source = source

    def preact_norms(self) -> List[nn.Module]:
        """The norm layers whose outputs are T_1..T_n before their ReLU
        (the last layer's), from which the OD loss takes its margins."""
        layer = self.layers[-1]
        if self.neck is not None or not hasattr(layer, 'preact_norms'):
            raise ValueError(
                'Pre-activation features (the OD feature loss) need the '
                "classification layer with its bottom-up path: FRSKDNeck "
                "with layer_cfg=dict(type='BiFPNLayer'), no inner neck and "
                'last_layer_top_down_only=False.')
        return layer.preact_norms()

    def check_inputs(self, inputs: Tuple[Tensor, ...]) -> None:
        """Raise, naming the config keys, unless ``inputs`` are n maps with
        the configured ``in_channels``.

        Args:
            inputs (tuple[Tensor]): F_1..F_n, the backbone's outputs (or the
                inner neck's, see :meth:`student_features`).
        """
        if self.neck is None:
            source, levels = 'the backbone', 'the backbone stage channels'
            fix = ('Set model.backbone.out_indices to every stage the '
                   'self-teacher refines, or fix model.neck.in_channels.')
        else:
            levels = "the inner neck's output channels"
            source = ('the inner neck model.neck.neck '
                      f'({type(self.neck).__name__})')
            fix = ('Set model.neck.in_channels to the channels of every '
                   'level the inner neck returns.')
        if not isinstance(inputs, (tuple, list)):
            raise TypeError(f'FRSKDNeck expects a tuple of feature maps from '
                            f'{source}, got {type(inputs).__name__}.')
        channels = [int(f.shape[1]) if f.dim() > 1 else None for f in inputs]
        if len(inputs) != len(self.in_channels):
            raise ValueError(
                f'FRSKDNeck was configured for {len(self.in_channels)} '
                f'levels (in_channels={self.in_channels}) but {source} '
                f'returned {len(inputs)} feature maps {channels}. {fix}')
        for i, (x, c) in enumerate(zip(inputs, self.in_channels)):
            if x.dim() != 4 or x.shape[1] != c:
                raise ValueError(
                    f'FRSKDNeck level {i}: expected {c} channels from '
                    f'{source}, got a tensor of shape {tuple(x.shape)}. '
                    f'model.neck.in_channels must equal {levels} '
                    f'{channels}.')
        self._inputs_checked = True


def _build_inner_neck(cfg: Optional[dict]) -> Optional[nn.Module]:
    """Build the student's own neck (None: the backbone feeds the head)."""
    if cfg is None:
        return None
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(
            'FRSKDNeck.neck must be the config dict of the student\'s own '
            "neck, e.g. neck=dict(type='FRSKDNeck', neck=dict(type='FPN', "
            'in_channels=[256, 512, 1024, 2048], out_channels=256, '
            f'num_outs=4), in_channels=[256] * 4, ...), got {cfg!r}.')
    if config_type_name(cfg) == 'FRSKDNeck':
        raise ValueError('FRSKDNeck.neck is an FRSKDNeck: wrap the '
                         "student's own neck, not another self-teacher.")
    return MODELS.build(cfg)


def _build_layer(cfg: dict, **kwargs) -> nn.Module:
    """Build one self-teacher layer from ``layer_cfg`` and the neck's
    arguments."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(
            'FRSKDNeck.layer_cfg must be a config dict with a type, e.g. '
            "dict(type='BiFPNLayer', depth=2) or dict(type='SegBiFPNLayer')"
            f', got {cfg!r}.')
    clash = sorted(set(cfg) & set(kwargs))
    if clash:
        raise ValueError(
            f'FRSKDNeck.layer_cfg sets {clash}, which FRSKDNeck sets for '
            'each layer itself (from in_channels, width, num_layers, '
            'last_layer_top_down_only and norm_cfg); remove them.')
    return MODELS.build(dict(cfg, **kwargs))
