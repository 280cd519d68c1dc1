"""Editable install: ``pip install -e .`` (see tools/env/install.sh).

A regular install (``pip install .``, a wheel or an sdist) also ships
``configs/``, ``tools/`` and ``model-index.yml`` inside the package, in
``frskd_mm/.mim/``, as OpenMMLab packages do for OpenMIM:
``mim train frskd_mm frskd_wrn16_2_digits.py`` then finds both the config
and ``tools/train.py``. (OpenMIM looks for them in the installed package's
folder, which an editable install does not have; there, name the codebase
whose training script runs your config, e.g. ``mim train mmpretrain
configs/demo/frskd_wrn16_2_digits.py``.)
"""
import os
import os.path as osp
import shutil
import sys
import warnings
from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def readme() -> str:
    path = osp.join(ROOT, 'README.md')
    if not osp.exists(path):
        return ''
    with open(path, encoding='utf-8') as f:
        return f.read()


def add_mim_extension() -> None:
    """Copy ``configs/``, ``tools/`` and ``model-index.yml`` into
    ``frskd_mm/.mim/`` for OpenMIM when a wheel or an sdist is built
    (``pip install .``), as MMPretrain's setup.py does.

    Editable installs are left alone: OpenMIM looks for ``.mim`` in the
    installed package's folder, which an editable install (PEP 660) does
    not have, so links in the source tree would only clutter it.
    """
    if 'sdist' not in sys.argv and 'bdist_wheel' not in sys.argv:
        return
    mim_path = osp.join(ROOT, 'frskd_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(ROOT, name)
        dst = osp.join(mim_path, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(
                src,
                dst,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    if not osp.isdir(osp.join(mim_path, 'tools')):
        warnings.warn('frskd_mm/.mim/tools is missing: mim train frskd_mm '
                      'will not find tools/train.py.')


if __name__ == '__main__':
    version: dict = {}
    with open(osp.join(ROOT, 'frskd_mm', 'version.py')) as f:
        exec(f.read(), version)
    add_mim_extension()
    setup(
        name='frskd_mm',
        version=version['__version__'],
        description='FRSKD (Feature Refinement via Self-Knowledge '
        'Distillation, CVPR 2021) for MMPretrain, MMSegmentation and '
        'MMDetection',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='computer vision, self-knowledge distillation, '
        'image classification, semantic segmentation, object detection',
        packages=find_packages(include=['frskd_mm', 'frskd_mm.*']),
        # frskd_mm/.mim (see add_mim_extension): OpenMIM's configs/tools.
        package_data={
            'frskd_mm': [
                '.mim/model-index.yml', '.mim/configs/**/*.py',
                '.mim/tools/**/*.py', '.mim/tools/**/*.sh'
            ]
        },
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
            'det': ['mmdet>=3.0.0,<3.4.0'],
            'demo': ['scikit-learn', 'matplotlib'],
            # openxlab 0.0.11: later ones pin setuptools~=60.2 (see
            # requirements.txt).
            'mim':
            ['openmim==0.3.9', 'opendatalab==0.0.10', 'openxlab==0.0.11'],
            'tensorboard': ['tensorboard'],
            'tests': ['pytest', 'scikit-learn', 'matplotlib'],
        },
        license='Apache License 2.0',
        zip_safe=False)
