from frskd_mm.utils.packages import package_available
from .frskd_cls_head import FRSKDClsHead
from .frskd_sla_cls_head import FRSKDSLAClsHead
from .self_teacher_decoder import SelfTeacherDecoder
from .sla_cls_head import SLAClsHead

__all__ = [
    'FRSKDClsHead', 'FRSKDSLAClsHead', 'SLAClsHead', 'SelfTeacherDecoder'
]

if package_available('mmseg'):  # the segmentation head needs MMSegmentation
    from .frskd_seg_head import FRSKDSegHead  # noqa: F401
    from .seg_bifpn_head import SegBiFPNHead  # noqa: F401
    __all__ += ['FRSKDSegHead', 'SegBiFPNHead']

if package_available('mmdet'):  # the dense head needs MMDetection
    from .frskd_dense_head import FRSKDDenseHead  # noqa: F401
    __all__ += ['FRSKDDenseHead']
