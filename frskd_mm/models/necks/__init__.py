from .frskd_neck import FRSKDNeck
from .self_teacher_features import SelfTeacherFeatures

__all__ = ['FRSKDNeck', 'SelfTeacherFeatures']
