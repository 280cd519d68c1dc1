from frskd_mm.utils.packages import package_available
from .frskd_cls_head import FRSKDClsHead
from .self_teacher_decoder import SelfTeacherDecoder

__all__ = ['FRSKDClsHead', 'SelfTeacherDecoder']

if package_available('mmseg'):  # the segmentation head needs MMSegmentation
    from .frskd_seg_head import FRSKDSegHead  # noqa: F401
    from .seg_bifpn_head import SegBiFPNHead  # noqa: F401
    __all__ += ['FRSKDSegHead', 'SegBiFPNHead']
