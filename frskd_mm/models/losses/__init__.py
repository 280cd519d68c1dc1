from .attention_transfer_loss import (AttentionTransferLoss,
                                      attention_transfer, spatial_attention)
from .fitnet_loss import FitNetLoss
from .kd_loss import kd_kl_div
from .overhaul_loss import OverhaulLoss, bn_margin

__all__ = [
    'AttentionTransferLoss', 'FitNetLoss', 'OverhaulLoss',
    'attention_transfer', 'bn_margin', 'kd_kl_div', 'spatial_attention'
]
