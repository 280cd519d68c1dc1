"""The gradient each FRSKD loss term sends into the backbone, measured.

Shared by :class:`~frskd_mm.engine.hooks.GradientSourceHook` (which logs
it) and :class:`~frskd_mm.engine.hooks.FRSKDHook` (whose ``grad_balance``
bounds the self-teacher's terms by it).
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from ..models.losses.self_distill_loss import SelfDistillLoss
from ..models.necks.frskd_neck import FRSKDNeck


def loss_term(key: str) -> Optional[str]:
    """Which FRSKD term a key of a model's loss dict is.

    ``'teacher_ce'`` for the self-teacher's own losses (``loss_teacher``,
    ``loss_teacher_*``), ``'kd'`` and ``'att'`` for the distillation terms,
    ``'student_ce'`` for every other loss (the student's own: ``loss``,
    ``loss_cls``, MMSeg's ``decode.loss_ce``, an auxiliary head's, SLA's
    ``loss_joint``), None for what is no loss (``acc_seg``).
    """
    name = key.rsplit('.', 1)[-1]
    if not name.startswith('loss'):
        return None
    if name.startswith('loss_teacher'):
        return 'teacher_ce'
    if name == 'loss_kd':
        return 'kd'
    if name == 'loss_att':
        return 'att'
    return 'student_ce'


def source_gradients(model: nn.Module,
                     data_batch: dict,
                     max_samples: Optional[int] = None,
                     record_bn: bool = False) -> Dict[str, Tensor]:
    """Each loss term's gradient with respect to the backbone's parameters,
    at full weight, on (the first ``max_samples`` images of) a batch.

    The terms are computed by one more training-mode forward pass of the
    model with the distillation factor and the teacher's gradient scale
    set to 1, so a term's direction is known also while its schedule holds
    it at 0. The pass leaves the run as it was: the norm layers' buffers
    and the random states are restored, the factors are put back, and no
    gradient is accumulated into the parameters.

    Args:
        model (nn.Module): The (unwrapped) model, in training mode.
        data_batch (dict): A batch as the dataloader yields it.
        max_samples (int, optional): Measure on the batch's first images
            only (cheaper, noisier). Defaults to the whole batch.
        record_bn (bool): Also return, under ``'bn_var/<name>'``, the
            variance per channel of the batch each backbone batch-norm
            layer sees.

    Returns:
        dict[str, Tensor]: Flat gradient vectors by term (``student_ce``,
        ``teacher_ce``, ``kd``, ``att``: those the model has), plus the
        batch variances with ``record_bn``.
    """
    if max_samples is not None:
        data_batch = {
            k: v[:max_samples] if isinstance(v, (list, tuple, Tensor)) else v
            for k, v in data_batch.items()
        }
    params = [p for p in model.backbone.parameters() if p.requires_grad]
    distill = [m for m in model.modules() if isinstance(m, SelfDistillLoss)]
    necks = [m for m in model.modules() if isinstance(m, FRSKDNeck)]
    saved = [(m, {
        k: v.clone()
        for k, v in m.named_buffers(recurse=False)
    }) for m in model.modules()
             if isinstance(m, nn.modules.batchnorm._NormBase)]
    old = [(m, 'scale', m.scale) for m in distill]
    old += [(m, name, getattr(m, name)) for m in necks
            for name in ('backbone_grad_scale', 'grad_factor')]
    batch_var: Dict[str, Tensor] = {}
    handles = [
        m.register_forward_pre_hook(_record_var(f'bn_var/{n}', batch_var))
        for n, m in model.backbone.named_modules()
        if record_bn and isinstance(m, nn.modules.batchnorm._BatchNorm)
        and m.track_running_stats
    ]
    grads: Dict[str, Tensor] = {}
    try:
        for m, name, _ in old:
            setattr(m, name, 1.0)
        with torch.random.fork_rng(devices=_devices(params)):
            data = model.data_preprocessor(data_batch, True)
            losses = model(**data, mode='loss')
        for key, value in losses.items():
            term = loss_term(key)
            if term is None:
                continue
            # The scalar this entry adds to the loss the run optimises
            # (a tensor's mean, the sum of a per-level list's means).
            value = model.parse_losses({key: value})[0]
            if not value.requires_grad:
                continue
            g = torch.autograd.grad(
                value, params, retain_graph=True, allow_unused=True)
            flat = torch.cat([
                (torch.zeros_like(p) if x is None else x).flatten()
                for p, x in zip(params, g)
            ])
            grads[term] = grads[term] + flat if term in grads else flat
    finally:
        for m, name, value in old:
            setattr(m, name, value)
        for h in handles:
            h.remove()
        for m, buffers in saved:
            for k, v in buffers.items():
                getattr(m, k).copy_(v)
    grads.update(batch_var)
    return grads


#: The self-teacher's terms, which ``grad_balance`` bounds together.
TEACHER_TERMS = ('teacher_ce', 'kd', 'att')


def balance_stats(grads: Dict[str, Tensor]) -> Dict[str, object]:
    """What :func:`balance_factor` needs of a measurement: the norm of the
    student's own gradient and the inner products of the self-teacher's
    terms' gradients (absent terms count as zero vectors).

    Args:
        grads (dict[str, Tensor]): :func:`source_gradients`' output.

    Returns:
        dict: ``student`` (float) and ``gram`` (3x3 list, in the order of
        :data:`TEACHER_TERMS`).
    """
    vectors = [grads.get(t) for t in TEACHER_TERMS]
    gram = [[
        float(a @ b) if a is not None and b is not None else 0.0
        for b in vectors
    ] for a in vectors]
    student = grads.get('student_ce')
    if student is None:
        raise ValueError(
            "FRSKDHook.grad_balance: the model's loss dict has no loss of "
            "the student's own (a 'loss*' key other than loss_teacher*, "
            'loss_kd and loss_att, a tensor or a list of tensors, that '
            'reaches the backbone), so the self-teacher\'s terms cannot be '
            'bounded by it. Remove grad_balance from FRSKDHook, or return '
            'the student\'s loss under such a key.')
    return dict(student=float(student.norm()), gram=gram)


def balance_factor(stats: Dict[str, object], weights: Dict[str, float],
                   ratio: float) -> float:
    """The factor that bounds the self-teacher's terms by the student's
    own loss.

    With ``g_x`` the full-weight gradients of the terms and ``w_x`` the
    weights the run applies to them now, the self-teacher's part of the
    backbone's gradient is ``e = w_t g_teacher_ce + w_kd g_kd + w_att
    g_att`` (``|e|^2 = w^T G w`` from the inner products ``G``). Returns
    ``min(1, ratio * |g_student_ce| / |e|)``: multiplied into all three
    weights, it keeps ``|e|`` at most ``ratio`` times the student's own
    gradient (1 where it already is, or where ``e`` is 0).

    Args:
        stats (dict): :func:`balance_stats` of a measurement.
        weights (dict[str, float]): ``teacher_ce``, ``kd``, ``att``.
        ratio (float): The bound, > 0.
    """
    w = [weights.get(t, 0.0) for t in TEACHER_TERMS]
    gram = stats['gram']
    sq = sum(w[i] * w[j] * gram[i][j] for i in range(3) for j in range(3))
    if sq <= 0.0:
        return 1.0
    return min(1.0, ratio * stats['student'] / math.sqrt(sq))


def balance_config(cfg: Optional[dict]) -> Optional[dict]:
    """``FRSKDHook.grad_balance`` with its defaults, or an error naming
    the key."""
    if cfg is None:
        return None
    cfg = dict(cfg)
    unknown = set(cfg) - {'ratio', 'interval', 'samples'}
    if unknown or 'ratio' not in cfg:
        raise ValueError(
            'FRSKDHook.grad_balance takes ratio (required), interval and '
            f'samples, e.g. dict(ratio=1.0, interval=10, samples=16); got '
            f'{cfg}.')
    cfg.setdefault('interval', 10)
    cfg.setdefault('samples', 16)
    if not cfg['ratio'] > 0 or int(
            cfg['interval']) < 1 or (cfg['samples'] is not None
                                     and int(cfg['samples']) < 1):
        raise ValueError('FRSKDHook.grad_balance needs ratio > 0, interval '
                         f'>= 1 and samples >= 1 (or None), got {cfg}.')
    return cfg


def _record_var(name: str, out: Dict[str, Tensor]):

    def hook(module, args):
        x = args[0].detach().float()
        dims = [d for d in range(x.dim()) if d != 1]
        out[name] = x.var(dim=dims, unbiased=True).clamp_min(1e-12)

    return hook


def _devices(params: Sequence[Tensor]) -> List[int]:
    return sorted({p.device.index for p in params if p.is_cuda})


def geometric_mean(x: Tensor) -> float:
    """``exp(mean(log x))`` of a positive tensor."""
    return math.exp(float(x.clamp_min(1e-12).log().mean()))
