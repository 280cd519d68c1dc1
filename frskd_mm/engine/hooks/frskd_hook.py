"""Hook owning FRSKD's stop-gradient rule, distillation schedule and
run-time checks."""
import math
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.dist import all_reduce, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch import Tensor

from frskd_mm.registry import HOOKS
from ...models.losses.self_distill_loss import SelfDistillLoss
from ...models.model_checks import check_frskd_model
from ...models.necks.frskd_neck import FRSKDNeck
from ...models.preact import enable_preact_features
from ..gradient_sources import (balance_config, balance_factor, balance_stats,
                                source_gradients)
from ..teacher_gate import LossAverages, TeacherGate, behind_warning

RAMPS = ('linear', 'sigmoid')


@HOOKS.register_module()
class FRSKDHook(Hook):
    """Make distillation update only the student, and schedule its weight.

    Before training it switches on ``stop_target_grad`` of every
    :class:`~frskd_mm.models.losses.self_distill_loss.SelfDistillLoss` in
    the model (one per FRSKD head). Because it is on, those losses detach
    their targets (teacher logits and refined features), so ``loss_kd`` and
    ``loss_att`` give exactly zero gradient to the self-teacher, while
    ``loss_teacher`` still trains it (FRSKD, Eq. 7). Without this hook a
    training-mode FRSKD loss raises, naming the hook; in eval mode the terms
    are computed without detaching the targets.

    Before every training iteration it sets the factor that multiplies
    alpha and beta: 0 during ``warmup``, then a ramp over ``ramp`` to 1.
    The ``sigmoid`` ramp is ``exp(-5 (1 - t)^2)`` (Laine & Aila, ICLR 2017),
    as in the authors' segmentation recipe. With ``ramp_teacher_grad`` the
    same factor also multiplies the gradient that the self-teacher's own
    loss sends into the backbone (``FRSKDNeck.grad_factor``), so that a run
    starts as its baseline would. The factors are recomputed from the
    runner's progress, so resuming restores them.

    With ``grad_balance`` it also bounds the self-teacher's influence on
    the backbone by the student's own loss: every ``interval`` iterations
    it measures, on the batch's first ``samples`` images, the gradient
    each term sends into the backbone
    (:func:`~frskd_mm.engine.gradient_sources.source_gradients`), and
    multiplies the three self-teacher terms (the teacher's loss through
    the backbone, ``loss_kd``, ``loss_att``) by one factor
    (:func:`~frskd_mm.engine.gradient_sources.balance_factor`) so that
    their gradient together is at most ``ratio`` times the student's own
    (``loss_cls``). The factor is saved in checkpoints.

    With ``teacher_gate`` distillation waits for the self-teacher: alpha
    and beta stay 0 until its training loss is below the student's
    (:class:`~frskd_mm.engine.teacher_gate.TeacherGate`), and ``warmup``
    and ``ramp`` count from the iteration the gate opened (with
    ``by_ratio``, as fractions of the training left then).

    With ``warn_teacher_behind`` it checks once, at that fraction of
    training, whether distillation is on while the self-teacher's training
    loss (moving average) is above the student's, and if so logs a warning
    that names the recipe to use: the soft labels then pull the student
    towards a model that has learned less than itself.

    A feature loss that reads pre-activation features (the OD loss) gets
    them set up here too (:func:`~frskd_mm.models.preact.
    enable_preact_features`): the backbone records them, the neck returns
    them, and the loss takes its margins from the self-teacher's BNs.

    It also guards the run. Before the first iteration it checks that the
    FRSKD parts of the config fit together (the neck's levels and channels
    against the backbone's stages, the neck's and the head's classes, the
    head's ``in_channels``, a feature loss's channels, the segmentation
    teacher decoder's input width) and raises naming the config keys. After
    every iteration it stops the run at the first non-finite loss term,
    naming the iteration and the terms, before a checkpoint of NaN weights
    is written.

    Args:
        warmup (int | float): Length of the distillation-off phase, in
            iterations (or epochs with ``by_epoch``). Defaults to 0.
        ramp (int | float): Length of the ramp to full weight. 0 switches
            distillation to full weight right after ``warmup``.
        ramp_type (str): ``'linear'`` or ``'sigmoid'``.
        by_epoch (bool): Count ``warmup`` and ``ramp`` in epochs (fractional
            within an epoch) instead of iterations.
        epoch_steps (bool): With ``by_epoch``, hold the factor for a whole
            epoch at the authors' per-epoch value (``segmentation/main.py``
            of MingiJi/FRSKD): 0 while ``epoch < warmup`` (epochs counted
            from 0), else the ramp at ``epoch + 1``, so the last epoch of
            the ramp has weight 1. Defaults to False (the factor grows
            within each epoch).
        by_ratio (bool): Give ``warmup`` and ``ramp`` as fractions of the
            whole training (``runner.max_iters``), e.g. ``warmup=2/3,
            ramp=1/3`` for the paper's VOC recipe at any schedule length.
            Exclusive with ``by_epoch``.
        stop_on_nonfinite (bool): Raise ``FloatingPointError`` at the first
            iteration with a NaN or infinite loss term. Defaults to True;
            False trains on, as MMEngine does.
        ramp_teacher_grad (bool): Schedule the self-teacher's gradient into
            the backbone with the distillation factor too. Not in the
            paper (whose teacher loss reaches the backbone in full from the
            first iteration): part of our stable recipe, see
            docs/frskd_study.md. Defaults to False.
        grad_balance (dict, optional): ``ratio`` (> 0), ``interval``
            (iterations between measurements, default 10) and ``samples``
            (images measured, default 16; None for the whole batch). Not
            in the paper: part of our stable recipe. Defaults to None
            (off).
        teacher_gate (dict, optional): Arguments of
            :class:`~frskd_mm.engine.teacher_gate.TeacherGate`
            (``momentum``, ``margin``, ``min_iters``); ``dict()`` for its
            defaults. Counts in iterations or, with ``by_ratio``, in
            fractions of training. Not in the paper: part of our stable
            recipe. Defaults to None (distillation from the first
            iteration, as the paper).
        warn_teacher_behind (float, optional): The fraction of training
            (in (0, 1)) at which to check whether the self-teacher is
            behind the student while distillation is on, once, and warn.
            Defaults to None (no check).
    """

    priority = 'NORMAL'

    def __init__(self,
                 warmup: float = 0,
                 ramp: float = 0,
                 ramp_type: str = 'linear',
                 by_epoch: bool = False,
                 epoch_steps: bool = False,
                 by_ratio: bool = False,
                 stop_on_nonfinite: bool = True,
                 ramp_teacher_grad: bool = False,
                 grad_balance: Optional[dict] = None,
                 teacher_gate: Optional[dict] = None,
                 warn_teacher_behind: Optional[float] = None) -> None:
        if ramp_type not in RAMPS:
            raise ValueError(f'ramp_type must be one of {RAMPS}, got '
                             f'{ramp_type!r}.')
        if warmup < 0 or ramp < 0:
            raise ValueError(f'warmup and ramp must be >= 0, got {warmup}, '
                             f'{ramp}.')
        if by_ratio and by_epoch:
            raise ValueError('FRSKDHook: by_epoch and by_ratio exclude each '
                             'other; set one of them.')
        if by_ratio and (warmup > 1 or ramp > 1):
            raise ValueError('FRSKDHook(by_ratio=True) takes warmup and ramp '
                             'as fractions of training in [0, 1], got '
                             f'{warmup}, {ramp}.')
        self.warmup = warmup
        self.ramp = ramp
        self.ramp_type = ramp_type
        if epoch_steps and not by_epoch:
            raise ValueError('FRSKDHook(epoch_steps=True) holds the factor '
                             'per epoch: it needs by_epoch=True (warmup and '
                             'ramp in epochs).')
        self.by_epoch = by_epoch
        self.epoch_steps = epoch_steps
        self.by_ratio = by_ratio
        self.stop_on_nonfinite = stop_on_nonfinite
        self.ramp_teacher_grad = ramp_teacher_grad
        self.grad_balance = balance_config(grad_balance)
        self.stats: Optional[dict] = None  # the last measurement
        if teacher_gate is not None and (by_epoch or epoch_steps):
            raise ValueError(
                'FRSKDHook(teacher_gate=...) counts warmup and ramp from '
                'the iteration the gate opens: use iterations or '
                'by_ratio=True, not by_epoch.')
        self.gate = None if teacher_gate is None else TeacherGate(
            **teacher_gate)
        if warn_teacher_behind is not None and \
                not 0 < warn_teacher_behind < 1:
            raise ValueError('FRSKDHook.warn_teacher_behind is a fraction of '
                             f'training in (0, 1), got {warn_teacher_behind}.')
        self.warn_teacher_behind = warn_teacher_behind
        self.losses = LossAverages() if warn_teacher_behind else None
        self.teacher_check: Optional[dict] = None  # what the check found
        self._losses: List[SelfDistillLoss] = []
        self._necks: List[FRSKDNeck] = []

    def scale_at(self, progress: float) -> float:
        """Distillation factor in [0, 1] after ``progress`` iterations,
        epochs or (``by_ratio``) fraction of training."""
        if progress < self.warmup:
            return 0.0
        if self.ramp == 0:
            return 1.0
        t = min((progress - self.warmup) / self.ramp, 1.0)
        if self.ramp_type == 'linear':
            return t
        return math.exp(-5.0 * (1.0 - t)**2)

    def epoch_scale(self, epoch: int) -> float:
        """The factor held through epoch ``epoch`` (from 0) with
        ``epoch_steps``."""
        return 0.0 if epoch < self.warmup else self.scale_at(epoch + 1)

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._losses = [
            m for m in model.modules() if isinstance(m, SelfDistillLoss)
        ]
        if not self._losses:
            raise RuntimeError(
                'FRSKDHook found no FRSKD head in the model: use FRSKDClsHead '
                '(or the segmentation head) with FRSKDNeck, or remove the '
                'hook from custom_hooks.')
        self._necks = [m for m in model.modules() if isinstance(m, FRSKDNeck)]
        check_frskd_model(model)
        enable_preact_features(model)
        for loss in self._losses:
            loss.stop_target_grad = True

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if self.epoch_steps:
            scale = self.epoch_scale(runner.epoch)
        else:
            if self.by_epoch:
                progress = runner.epoch + batch_idx / max(
                    len(runner.train_dataloader), 1)
            else:
                start = 0 if self.gate is None else self.gate.opened_at
                if start is None:  # the self-teacher is not ahead yet
                    progress = -math.inf
                elif self.by_ratio:
                    progress = (runner.iter - start) / max(
                        runner.max_iters - start, 1)
                else:
                    progress = runner.iter - start
            scale = 0.0 if progress < 0 else self.scale_at(progress)
        teacher = scale if self.ramp_teacher_grad else 1.0
        if self.grad_balance is not None:
            if data_batch is not None and (self.stats is None or runner.iter %
                                           self.grad_balance['interval'] == 0):
                self.stats = self._measure(runner, data_batch)
            if self.stats is not None:
                weights = dict(kd=scale, att=scale, teacher_ce=teacher)
                if self._necks:
                    weights['teacher_ce'] *= \
                        self._necks[0].backbone_grad_scale
                factor = balance_factor(self.stats, weights,
                                        self.grad_balance['ratio'])
                runner.message_hub.update_scalar('train/grad_balance', factor)
                scale *= factor
                teacher *= factor
        for loss in self._losses:
            loss.scale = scale
        if self.ramp_teacher_grad or self.grad_balance is not None:
            for neck in self._necks:
                neck.grad_factor = teacher

    def _measure(self, runner, data_batch: dict) -> dict:
        """:func:`balance_stats` of this batch (averaged over processes
        in distributed training)."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        stats = balance_stats(
            source_gradients(model, data_batch, self.grad_balance['samples']))
        if is_distributed():
            flat = torch.tensor(
                [stats['student']] + sum(stats['gram'], []),
                dtype=torch.float64)
            all_reduce(flat, op='mean')
            stats = dict(
                student=float(flat[0]), gram=flat[1:].reshape(3, 3).tolist())
        return stats

    def _check_teacher(self, runner) -> None:
        """The once-per-run check of ``warn_teacher_behind``."""
        distilling = bool(self._losses) and self._losses[0].scale > 0
        avg = self.losses
        behind = distilling and not avg.teacher_ahead(0.0)
        self.teacher_check = dict(
            iteration=runner.iter + 1,
            student=avg.student,
            teacher=avg.teacher,
            distilling=distilling,
            warned=behind)
        if behind:
            runner.logger.warning(
                behind_warning(runner.iter + 1, runner.max_iters, avg))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.setdefault('meta', {})
        if self.stats is not None:
            meta['frskd_grad_balance'] = self.stats
        if self.gate is not None:
            meta['frskd_teacher_gate'] = self.gate.state_dict()
        if self.losses is not None:
            meta['frskd_teacher_check'] = dict(
                losses=self.losses.state_dict(), result=self.teacher_check)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        self.stats = meta.get('frskd_grad_balance')
        if self.gate is not None and 'frskd_teacher_gate' in meta:
            self.gate.load_state_dict(meta['frskd_teacher_gate'])
        if self.losses is not None and 'frskd_teacher_check' in meta:
            self.losses.load_state_dict(meta['frskd_teacher_check']['losses'])
            self.teacher_check = meta['frskd_teacher_check']['result']

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[Dict[str, Tensor]] = None) -> None:
        if self.gate is not None and outputs:
            self.gate.update(runner.iter, outputs)
        if self.losses is not None and outputs:
            self.losses.update(outputs)
            if self.teacher_check is None and runner.iter + 1 >= \
                    self.warn_teacher_behind * runner.max_iters:
                self._check_teacher(runner)
        if not self.stop_on_nonfinite or not outputs:
            return
        bad, good = _split_finite(outputs)
        if not bad:
            return
        where = f'iteration {runner.iter + 1}'
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            where += f' (epoch {runner.epoch + 1})'
        raise FloatingPointError(
            f'FRSKD: non-finite loss at {where}: ' +
            ', '.join(f'{k}={v}' for k, v in bad) +
            (f' (finite: {", ".join(k for k, _ in good)})' if good else '') +
            '. The run stops here, before a checkpoint of these weights is '
            'written; the newest checkpoint in the work directory is from '
            'before. Usual causes: a learning rate too high for the batch '
            'size (optim_wrapper.optimizer.lr), fp16 overflow (try '
            "optim_wrapper.type='AmpOptimWrapper' with loss_scale='dynamic' "
            'or no --amp), or alpha/beta too large for the data. To train on '
            "anyway, set stop_on_nonfinite=False in custom_hooks' FRSKDHook.")


def _split_finite(
    log_vars: Dict[str, Tensor]
) -> Tuple[List[Tuple[str, float]], List[Tuple[str, float]]]:
    """The loss terms of ``log_vars`` that are not finite, and the others.

    One device sync when all are finite (MMEngine's RuntimeInfoHook reads
    every value with ``.item()`` each iteration anyway). The total
    ``loss`` is named only if no single term explains it.
    """
    terms = {k: v for k, v in log_vars.items() if 'loss' in k}
    if not terms:
        return [], []
    values = [
        torch.as_tensor(v).detach().float().reshape(())
        for v in terms.values()
    ]
    device = values[0].device
    if bool(torch.isfinite(torch.stack([v.to(device) for v in values])).all()):
        return [], []
    values = [float(v) for v in values]
    bad = [(k, v) for k, v in zip(terms, values) if not math.isfinite(v)]
    good = [(k, v) for k, v in zip(terms, values) if math.isfinite(v)]
    named = [(k, v) for k, v in bad if k != 'loss']
    return (named or bad), [(k, v) for k, v in good if k != 'loss']
