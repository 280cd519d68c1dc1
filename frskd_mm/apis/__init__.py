from .export import student_config, student_state_dict, training_state_dict

__all__ = ['student_config', 'student_state_dict', 'training_state_dict']
