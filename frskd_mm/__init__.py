"""FRSKD (Ji et al., CVPR 2021) for MMPretrain and MMSegmentation.

Importing the package registers its modules in MMPretrain's registries and,
when MMSegmentation is installed, in MMSegmentation's too (see
:mod:`frskd_mm.registry`); configs load it with
``custom_imports=dict(imports=['frskd_mm'])``.
"""
from . import datasets, engine, evaluation, models  # noqa: F401
from .registry import mmseg_available, register_mmseg_modules
from .version import __version__

if mmseg_available():  # also register in MMSegmentation's registries
    register_mmseg_modules()

__all__ = ['__version__', 'mmseg_available', 'register_mmseg_modules']
