"""FRSKD (Ji et al., CVPR 2021) for MMPretrain and MMSegmentation.

Importing the package registers its modules in MMPretrain's registries and,
when MMSegmentation is installed, in MMSegmentation's too (see
:mod:`frskd_mm.registry`); configs load it with
``custom_imports=dict(imports=['frskd_mm'])``. The run-time pieces shared by
both tasks (checkpoint, data-check and random-state hooks, the draw-seeded
sampler and dataset, the size-checking collate) are registered in
MMEngine's root registries, which both tasks' registries search. It also
makes MMEngine load local checkpoints weights-only with the globals of its
message hub allowed per load
(:func:`frskd_mm.utils.use_safe_checkpoint_loading`).
"""
from . import datasets, engine, evaluation, models  # noqa: F401
from .registry import mmseg_available, register_mmseg_modules
from .utils.checkpoint import use_safe_checkpoint_loading
from .version import __version__

if mmseg_available():  # also register in MMSegmentation's registries
    register_mmseg_modules()
use_safe_checkpoint_loading()

__all__ = ['__version__', 'mmseg_available', 'register_mmseg_modules']
