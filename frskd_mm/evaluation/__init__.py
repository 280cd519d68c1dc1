from .metrics import TeacherAccuracy

__all__ = ['TeacherAccuracy']
