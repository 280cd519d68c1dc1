from .eval_resize import EvalResize

__all__ = ['EvalResize']
