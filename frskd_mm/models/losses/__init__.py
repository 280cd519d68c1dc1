from .attention_transfer_loss import (AttentionTransferLoss,
                                      attention_transfer, spatial_attention)
from .fitnet_loss import FitNetLoss
from .kd_loss import kd_kl_div

__all__ = [
    'AttentionTransferLoss', 'FitNetLoss', 'attention_transfer', 'kd_kl_div',
    'spatial_attention'
]
