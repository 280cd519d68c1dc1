from .frskd_neck import FRSKDNeck
from .seg_bifpn import SegBiFPN
from .seg_bifpn_layer import SegBiFPNLayer
from .seg_fpn import SegFPN
from .self_teacher_features import SelfTeacherFeatures

__all__ = [
    'FRSKDNeck', 'SegBiFPN', 'SegBiFPNLayer', 'SegFPN', 'SelfTeacherFeatures'
]
