"""FRSKD (Ji et al., CVPR 2021) for MMPretrain and MMSegmentation.

Importing the package registers its modules in MMPretrain's registries;
configs load it with ``custom_imports=dict(imports=['frskd_mm'])``.
"""
from . import datasets, engine, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']
