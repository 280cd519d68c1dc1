from .frskd_neck import FRSKDNeck, SelfTeacherFeatures
from .seg_bifpn import SegBiFPN
from .seg_bifpn_layer import SegBiFPNLayer
from .seg_fpn import SegFPN

__all__ = [
    'FRSKDNeck', 'SegBiFPN', 'SegBiFPNLayer', 'SegFPN', 'SelfTeacherFeatures'
]
