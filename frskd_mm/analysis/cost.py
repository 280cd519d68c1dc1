"""Parameters by role and per-image forward FLOPs of a model's parts.

The roles come from the module types: the self-teacher is every
:class:`~frskd_mm.models.necks.FRSKDNeck`, every
:class:`~frskd_mm.models.heads.self_teacher_decoder.SelfTeacherDecoder` and
the ``teacher`` of every FRSKD head (a module with a ``distill``
:class:`~frskd_mm.models.losses.self_distill_loss.SelfDistillLoss`, e.g. the
dense head's copy), the distillation-only modules are every
:class:`~frskd_mm.models.losses.self_distill_loss.SelfDistillLoss` (e.g.
FitNet regressors), other training-only modules are the top-level children
named in :data:`TRAINING_ONLY_CHILDREN`; the student is the rest. The
deployed model is what the eval-mode forward calls. Parameters are counted
with :func:`mmengine.analysis.parameter_count`, FLOPs with
:class:`mmengine.analysis.FlopAnalyzer`.
"""
import contextlib
import copy
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count

from ..models.heads.self_teacher_decoder import SelfTeacherDecoder
from ..models.losses.self_distill_loss import SelfDistillLoss
from ..models.necks import FRSKDNeck

#: FLOPs convention of MMEngine's analyzer, recorded in the results.
FLOP_NOTE = (
    'FLOPs per image from mmengine.analysis.FlopAnalyzer (one fused '
    'multiply-add = 1 FLOP; conv/linear/matmul, norm layers, pooling and '
    'upsampling counted, other element-wise ops not; training-only '
    'auxiliary heads not counted). BatchNorm counts 5 '
    'FLOPs/element in train mode and 2 in eval mode, so the train-mode '
    'student is slightly above the deployed model.')

#: Top-level children that train but never run at inference besides the
#: self-teacher (MMSeg's auxiliary heads).
TRAINING_ONLY_CHILDREN = ('auxiliary_head', )


def modules_of(model: nn.Module, types: Tuple[type, ...]) -> List[str]:
    """Names of the outermost submodules of ``model`` of ``types`` (those
    not inside another one found)."""
    names = [n for n, m in model.named_modules() if isinstance(m, types)]
    return [
        n for n in names if not any(_under(n, [o]) for o in names if o != n)
    ]


def self_teacher_modules(model: nn.Module) -> List[str]:
    """Names of the self-teacher's modules (FRSKD necks, teacher decoders).

    An FRSKD neck that wraps the student's own neck contributes its other
    children only: the inner neck (``<neck>.neck``) is the student's.
    """
    names = []
    found = modules_of(model, (FRSKDNeck, SelfTeacherDecoder))
    found += [
        n for n, _ in teacher_heads(model)
        if not any(_under(n, [o]) for o in found)
    ]
    for name in found:
        module = model.get_submodule(name)
        if isinstance(module, FRSKDNeck) and module.neck is not None:
            names += [
                f'{name}.{child}' for child, _ in module.named_children()
                if child != 'neck'
            ]
        else:
            names.append(name)
    return names


def teacher_heads(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """``(name, owner)`` of the ``teacher`` child of every FRSKD head (a
    module holding a :class:`SelfDistillLoss` as ``distill``)."""
    found = []
    for name, module in model.named_modules():
        teacher = getattr(module, 'teacher', None)
        if isinstance(getattr(module, 'distill', None), SelfDistillLoss) \
                and isinstance(teacher, nn.Module):
            found.append((f'{name}.teacher' if name else 'teacher', module))
    return found


def is_frskd(model: nn.Module) -> bool:
    """Whether ``model`` has FRSKD's distillation (an FRSKD head)."""
    return any(isinstance(m, SelfDistillLoss) for m in model.modules())


def count_parameters(model: nn.Module,
                     deployed: Optional[Set[str]] = None) -> Dict[str, int]:
    """Parameters of ``model`` by role.

    Args:
        model (nn.Module): A classifier or segmentor, baseline or FRSKD.
        deployed (set[str], optional): Names of the modules that inference
            calls (see :func:`called_modules`); their own parameters are
            ``deployed``. Defaults to the student's count.

    Returns:
        dict: ``total``, ``student`` (``total`` minus the three others),
        ``self_teacher``, ``distill_only``, ``other_training_only`` and
        ``deployed``; ``total`` is their sum without ``deployed``.
    """
    count = parameter_count(model)
    total = int(count[''])

    def of(names):
        return int(sum(count.get(n, 0) for n in names))

    roles = dict(
        self_teacher=of(self_teacher_modules(model)),
        distill_only=of(modules_of(model, (SelfDistillLoss, ))),
        other_training_only=of(n for n, _ in model.named_children()
                               if n in TRAINING_ONLY_CHILDREN))
    student = total - sum(roles.values())
    if deployed is None:
        dep = student
    else:
        dep = int(
            sum(p.numel() for n, p in model.named_parameters()
                if n.rpartition('.')[0] in deployed))
    return dict(total=total, student=student, **roles, deployed=dep)


def called_modules(model: nn.Module, *inputs) -> Set[str]:
    """Names of the modules that ``model(*inputs)`` calls ('' is the
    model), in the mode the model is in, without gradients."""
    called: Set[str] = set()
    handles = [
        m.register_forward_pre_hook(
            lambda mod, args, name=name: called.add(name))
        for name, m in model.named_modules()
    ]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return called


def count_flops(module: nn.Module,
                inputs: Tuple,
                per: int = 1) -> Dict[str, Any]:
    """Forward FLOPs of ``module(*inputs)``, divided by ``per`` images.

    Returns:
        dict: ``total``, ``by_module`` (top-level children) and
        ``uncounted_ops`` (op name -> uncounted calls).
    """
    analyzer = FlopAnalyzer(module, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    with torch.no_grad():
        total = analyzer.total()
    return dict(
        total=_per_image(total, per),
        by_module={
            k: _per_image(v, per)
            for k, v in analyzer.by_module().items() if k and '.' not in k
        },
        uncounted_ops=dict(analyzer.unsupported_ops()))


def _per_image(flops: Union[int, float], n: int) -> Union[int, float]:
    return flops // n if flops % n == 0 else flops / n


def _under(name: str, prefixes: Sequence[str]) -> bool:
    """Whether module ``name`` is one of ``prefixes`` or inside one ('' is
    the root)."""
    return any(p in ('', name) or name.startswith(p + '.') for p in prefixes)


@contextlib.contextmanager
def modes(model: nn.Module, train: bool, off: Sequence[nn.Module] = ()):
    """Temporarily set train/eval mode, with ``off`` modules in eval."""
    saved = {m: m.training for m in model.modules()}
    model.train(train)
    for m in off:
        m.eval()
    if off:
        # An FRSKD neck in eval mode passes its inputs (or its inner neck's
        # outputs, the inner neck left in ``train`` mode) through.
        for m in model.modules():
            if isinstance(m, FRSKDNeck):
                m.training = False
    try:
        yield
    finally:
        for m, mode in saved.items():
            m.training = mode


class SelfTeacher(nn.Module):
    """The self-teacher alone: FRSKD neck (+ teacher decoder or head),
    returning every output so that the trace keeps every op.

    Args:
        neck (nn.Module): The FRSKD neck.
        decoder (nn.Module, optional): The teacher decoder or head.
        decoder_index (int, optional): The refined level it reads; None: all
            of them (a dense head).
    """

    def __init__(self,
                 neck: nn.Module,
                 decoder: Optional[nn.Module] = None,
                 decoder_index: Optional[int] = 0) -> None:
        super().__init__()
        self.neck = neck
        self.teacher = decoder
        self.decoder_index = decoder_index

    def forward(self, *feats: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        out = self.neck(tuple(feats))
        outs = list(out.refined)
        if out.teacher_logits is not None:
            outs.append(out.teacher_logits)
        if self.teacher is not None:
            index = self.decoder_index
            outs += _tensors(
                self.teacher(out.refined if index is
                             None else out.refined[index]))
        return tuple(outs)


def _tensors(out) -> List[torch.Tensor]:
    """The tensors of a (nested) tuple or list of outputs, in order."""
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for item in out for t in _tensors(item)]


def self_teacher_flops(model: nn.Module, x: torch.Tensor,
                       per: int) -> Optional[Dict[str, Any]]:
    """FLOPs of the self-teacher in train mode on the features it refines
    (the backbone's, or its inner neck's, of ``x``, eval mode), or None for
    a model without FRSKD neck.

    The teacher decoder reads the refined level given by the
    ``teacher_in_index`` of the FRSKD head that holds it; a teacher dense
    head (an owner without ``teacher_in_index``) reads all of them.
    """
    necks = [n for n, m in model.named_modules() if isinstance(m, FRSKDNeck)]
    if not necks:
        return None
    decoder, index = None, 0
    heads = teacher_heads(model)
    if heads:
        name, owner = heads[0]
        decoder = model.get_submodule(name)
        index = getattr(owner, 'teacher_in_index', None)
    neck = model.get_submodule(necks[0])
    with modes(model, train=False), torch.no_grad():
        feats = neck.student_features(model.backbone(x))
    wrapper = copy.deepcopy(SelfTeacher(neck, decoder, index)).train()
    wrapper.neck.neck = None  # the inner neck ran above: it is the student's
    return count_flops(wrapper, tuple(feats), per)


def analyze_model(model: nn.Module,
                  inputs: torch.Tensor,
                  flop_batch: int = 2) -> Dict[str, Any]:
    """Parameters and per-image forward FLOPs of the model's parts.

    Args:
        model (nn.Module): A classifier or segmentor, baseline or FRSKD.
        inputs (Tensor): Preprocessed inputs (N, 3, H, W); the first
            ``flop_batch`` images are traced (2 by default, so that train-mode
            BN also works after global pooling), and FLOPs are divided by it.
        flop_batch (int): Images per trace.

    Returns:
        dict: ``params`` (see :func:`count_parameters`; ``deployed`` are
        the parameters of the modules that the eval-mode forward calls,
        equal to ``student`` when the roles are right) and ``flops`` per
        image: ``deployed`` (whole model, eval mode), ``student_train``
        (whole model in train mode with the self-teacher switched off),
        ``self_teacher`` (FRSKD neck plus teacher decoder, train mode, on
        the backbone's features), per-module totals, the ops the analyzer
        does not count (op name -> number of calls) and the names of the
        self-teacher's modules.
    """
    x = inputs[:flop_batch]
    if x.shape[0] < flop_batch:
        x = x.repeat(-(-flop_batch // x.shape[0]), 1, 1, 1)[:flop_batch]
    teacher = self_teacher_modules(model)

    # Deployed: the whole model in eval mode; record which modules run.
    with modes(model, train=False):
        called = called_modules(model, x)
        deployed = count_flops(model, (x, ), flop_batch)
    # The student in training: train mode with the self-teacher switched
    # off (the FRSKD neck passes the features through in eval mode).
    off = [model.get_submodule(n) for n in teacher]
    with modes(model, train=True, off=off):
        student = count_flops(model, (x, ), flop_batch)
    self_teacher = self_teacher_flops(model, x, flop_batch) or dict(
        total=0, by_module={}, uncounted_ops={})

    flops = dict(
        deployed=deployed['total'],
        student_train=student['total'],
        self_teacher=self_teacher['total'],
        deployed_by_module=deployed['by_module'],
        self_teacher_by_module=self_teacher['by_module'],
        uncounted_ops=dict(
            deployed=deployed['uncounted_ops'],
            self_teacher=self_teacher['uncounted_ops']),
        self_teacher_modules=teacher)
    return dict(params=count_parameters(model, called), flops=flops)
