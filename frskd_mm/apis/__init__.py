from .export import export_student, student_config, student_state_dict
from .model import init_model, load_config, load_into

__all__ = [
    'export_student', 'init_model', 'load_config', 'load_into',
    'student_config', 'student_state_dict'
]
