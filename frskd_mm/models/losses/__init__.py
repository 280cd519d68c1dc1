from .attention_transfer_loss import (AttentionTransferLoss,
                                      attention_transfer, spatial_attention)
from .fitnet_loss import FitNetLoss
from .kd_loss import binary_kd_kl_div, kd_kl_div
from .overhaul_loss import OverhaulLoss, bn_margin
from .sigmoid_self_distill_loss import SigmoidSelfDistillLoss

__all__ = [
    'AttentionTransferLoss', 'FitNetLoss', 'OverhaulLoss',
    'SigmoidSelfDistillLoss', 'attention_transfer', 'binary_kd_kl_div',
    'bn_margin', 'kd_kl_div', 'spatial_attention'
]
