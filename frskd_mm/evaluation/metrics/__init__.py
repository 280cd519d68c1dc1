from .teacher_accuracy import TeacherAccuracy

__all__ = ['TeacherAccuracy']
