"""Editable install: ``pip install -e .`` (see tools/env/install.sh)."""
from setuptools import find_packages, setup

version: dict = {}
with open('frskd_mm/version.py') as f:
    exec(f.read(), version)

setup(
    name='frskd_mm',
    version=version['__version__'],
    description='FRSKD (Feature Refinement via Self-Knowledge Distillation, '
    'CVPR 2021) for MMPretrain and MMSegmentation',
    long_description=open('README.md').read() if __import__('os').path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['frskd_mm', 'frskd_mm.*']),
    python_requires='>=3.8',
    install_requires=[
        'torch>=1.10',
        'torchvision',
        'mmengine>=0.10.0,<1.0.0',
        'mmcv>=2.0.0,<2.2.0',
        'mmpretrain>=1.0.0,<1.3.0',
        'numpy<2',
    ],
    extras_require={
        'seg': ['mmsegmentation>=1.0.0,<1.3.0', 'ftfy', 'regex'],
        'demo': ['scikit-learn', 'matplotlib'],
        'tests': ['pytest', 'scikit-learn', 'matplotlib'],
    },
    license='Apache License 2.0',
)
