from .export import (StudentExport, export_student, student_config,
                     student_state_dict)
from .model import has_self_teacher, init_model, load_config, load_into

__all__ = [
    'StudentExport', 'export_student', 'has_self_teacher', 'init_model',
    'load_config', 'load_into', 'student_config', 'student_state_dict'
]
