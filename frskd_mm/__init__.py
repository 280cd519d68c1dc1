"""FRSKD (Ji et al., CVPR 2021) for MMPretrain, MMSegmentation and
MMDetection.

Importing the package registers its modules (see :mod:`frskd_mm.registry`)
in MMPretrain's registries and in those of MMSegmentation and MMDetection
where they are installed; configs load it with
``custom_imports=dict(imports=['frskd_mm'])``. It also makes MMEngine load
local checkpoints weights-only with the globals of its message hub allowed
per load (:func:`frskd_mm.utils.use_safe_checkpoint_loading`).
"""
from . import datasets, engine, evaluation, models  # noqa: F401
from .utils.checkpoint import use_safe_checkpoint_loading
from .version import __version__

use_safe_checkpoint_loading()

__all__ = ['__version__']
