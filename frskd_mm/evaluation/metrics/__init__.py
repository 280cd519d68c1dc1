from frskd_mm.utils.packages import package_available
from .teacher_accuracy import TeacherAccuracy

__all__ = ['TeacherAccuracy']

if package_available('mmseg'):  # segmentation metrics need MMSegmentation
    from .fwiou_metric import FWIoUMetric  # noqa: F401
    __all__ += ['FWIoUMetric']
