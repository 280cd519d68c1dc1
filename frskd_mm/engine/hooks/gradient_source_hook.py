"""Hook that logs, per loss term, the gradient reaching the backbone."""
import itertools
import math
from typing import Dict, Optional

import torch.nn as nn
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from frskd_mm.registry import HOOKS
from ...models.losses.self_distill_loss import SelfDistillLoss
from ...models.necks.frskd_neck import FRSKDNeck
from ..gradient_sources import geometric_mean, source_gradients


@HOOKS.register_module()
class GradientSourceHook(Hook):
    """Log where the backbone's gradient comes from (a diagnostic).

    Every ``interval`` training iterations, before the optimiser step, the
    batch is run once more through the model and each loss term is
    differentiated on its own with respect to the backbone's parameters
    (:func:`~frskd_mm.engine.gradient_sources.source_gradients`; the run
    itself is left unchanged). Logged as training scalars
    (``scalars.json``):

    - ``grad/<term>``: the norm of the gradient that term sends into the
      backbone as the run applies it (its schedule factor included);
    - ``grad/<term>_raw``: the same at full weight (the term's direction,
      also while its factor is 0);
    - ``grad_cos/<a>-<b>``: the cosine between the full-weight gradients
      of two terms;
    - ``weight_norm/backbone``: the norm of the backbone's convolution
      weights (a gradient that inflates them lowers the effective learning
      rate of the convolutions that batch norm follows);
    - ``bn_var_ratio/{last,min,max}``: per batch-norm layer of the
      backbone, the geometric mean over channels of its running variance
      over the variance of the batch it sees, for the backbone's last norm
      layer and the smallest and largest over all of them; 1 when the
      running statistics describe the batch, far from 1 when evaluation
      (which uses them) sees other statistics than training.

    Terms: ``student_ce``, ``teacher_ce``, ``kd``, ``att`` (the FRSKD heads'
    ``loss_cls``/``loss_teacher``/``loss_kd``/``loss_att``; a baseline logs
    ``student_ce`` and the norm statistics only). It costs one more forward
    and one backward per term every ``interval`` iterations.

    Args:
        interval (int): Iterations between two measurements. Defaults to 5.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 5) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}.')
        self.interval = interval

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if data_batch is None or runner.iter % self.interval:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        for key, value in gradient_scalars(model, data_batch).items():
            runner.message_hub.update_scalar(f'train/{key}', value)


def gradient_scalars(model: nn.Module, data_batch: dict) -> Dict[str, float]:
    """One measurement of :class:`GradientSourceHook` (see there).

    Args:
        model (nn.Module): The (unwrapped) model, in training mode.
        data_batch (dict): A batch as the dataloader yields it.

    Returns:
        dict[str, float]: The scalars, keyed as logged without ``train/``.
    """
    factors = {'kd': 1.0, 'att': 1.0, 'teacher_ce': 1.0, 'student_ce': 1.0}
    for m in model.modules():
        if isinstance(m, SelfDistillLoss):
            factors['kd'] = factors['att'] = m.scale
        elif isinstance(m, FRSKDNeck):
            factors['teacher_ce'] = m.backbone_grad_scale * m.grad_factor
    measured = source_gradients(model, data_batch, record_bn=True)
    grads = {k: v for k, v in measured.items() if k in factors}
    scalars = {}
    for term, g in grads.items():
        raw = float(g.norm())
        scalars[f'grad/{term}_raw'] = raw
        scalars[f'grad/{term}'] = raw * factors[term]
    for a, b in itertools.combinations(sorted(grads), 2):
        scalars[f'grad_cos/{a}-{b}'] = float(
            F.cosine_similarity(grads[a], grads[b], dim=0))
    convs = [
        m.weight for m in model.backbone.modules()
        if isinstance(m, nn.modules.conv._ConvNd)
    ]
    if convs:
        scalars['weight_norm/backbone'] = math.sqrt(
            sum(float(w.detach().pow(2).sum()) for w in convs))
    ratios = [
        geometric_mean(m.running_var / measured[f'bn_var/{n}'])
        for n, m in model.backbone.named_modules() if f'bn_var/{n}' in measured
    ]
    if ratios:
        scalars['bn_var_ratio/last'] = ratios[-1]
        scalars['bn_var_ratio/min'] = min(ratios)
        scalars['bn_var_ratio/max'] = max(ratios)
    return scalars
