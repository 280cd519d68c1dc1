"""Hook owning FRSKD's stop-gradient rule and distillation schedule."""
import math
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from ...models.losses.self_distill_loss import SelfDistillLoss

RAMPS = ('linear', 'sigmoid')


@HOOKS.register_module()
class FRSKDHook(Hook):
    """Make distillation update only the student, and schedule its weight.

    Before training it switches on the stop-gradient of the distillation
    targets (teacher logits and refined features) in every FRSKD head, so
    ``loss_kd`` and ``loss_att`` give exactly zero gradient to the
    self-teacher, while ``loss_teacher`` still trains it. FRSKD heads refuse
    to compute their loss in training without this hook.

    Before every training iteration it sets the factor that multiplies
    alpha and beta: 0 during ``warmup``, then a ramp over ``ramp`` to 1.
    The ``sigmoid`` ramp is ``exp(-5 (1 - t)^2)`` (Laine & Aila, ICLR 2017),
    as in the authors' segmentation recipe. The factor is recomputed from
    the runner's progress, so resuming restores it.

    Args:
        warmup (int | float): Length of the distillation-off phase, in
            iterations (or epochs with ``by_epoch``). Defaults to 0.
        ramp (int | float): Length of the ramp to full weight. 0 switches
            distillation to full weight right after ``warmup``.
        ramp_type (str): ``'linear'`` or ``'sigmoid'``.
        by_epoch (bool): Count ``warmup`` and ``ramp`` in epochs (fractional
            within an epoch) instead of iterations.
    """

    priority = 'NORMAL'

    def __init__(self,
                 warmup: float = 0,
                 ramp: float = 0,
                 ramp_type: str = 'linear',
                 by_epoch: bool = False) -> None:
        if ramp_type not in RAMPS:
            raise ValueError(f'ramp_type must be one of {RAMPS}, got '
                             f'{ramp_type!r}.')
        if warmup < 0 or ramp < 0:
            raise ValueError(f'warmup and ramp must be >= 0, got {warmup}, '
                             f'{ramp}.')
        self.warmup = warmup
        self.ramp = ramp
        self.ramp_type = ramp_type
        self.by_epoch = by_epoch
        self._losses: List[SelfDistillLoss] = []

    def scale_at(self, progress: float) -> float:
        """Distillation factor in [0, 1] after ``progress`` iters/epochs."""
        if progress < self.warmup:
            return 0.0
        if self.ramp == 0:
            return 1.0
        t = min((progress - self.warmup) / self.ramp, 1.0)
        if self.ramp_type == 'linear':
            return t
        return math.exp(-5.0 * (1.0 - t)**2)

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
        for loss in self._losses:
            loss.stop_target_grad = True

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if self.by_epoch:
            progress = runner.epoch + batch_idx / max(
                len(runner.train_dataloader), 1)
        else:
            progress = runner.iter
        scale = self.scale_at(progress)
        for loss in self._losses:
            loss.scale = scale
