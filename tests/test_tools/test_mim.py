"""OpenMIM: ``mim train`` runs the configs of this repository.

- ``mim train frskd_mm <config name>`` needs a regular install (a wheel:
  ``pip install .``), whose ``frskd_mm/.mim/`` holds ``configs/``, ``tools/``
  and ``model-index.yml`` (setup.py's ``add_mim_extension``); the test
  builds the wheel from this checkout and installs it into a folder put
  first on ``PYTHONPATH``.
- ``mim train mmpretrain <config path>`` works with any install, the
  editable one of ``make install`` included: MMPretrain's own
  ``tools/train.py`` runs the config, which imports frskd_mm.

Both train the demo's FRSKD config for one epoch (3 iterations) on a tiny
image folder. OpenMIM is installed by requirements.txt; without it these
tests are skipped (``pip install -e .[mim]`` or see the README, "OpenMIM").
"""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from tool_runs import ROOT, scalars

CONFIG = 'configs/demo/frskd_wrn16_2_digits.py'
MIM = ('import sys; from mim.cli import cli; '
       "sys.argv[0] = 'mim'; sys.exit(cli())")


def _tiny_options(data_root):
    opts = [
        'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
        'randomness.seed=0', 'train_dataloader.batch_size=8'
    ]
    for split in ('train', 'val', 'test'):
        opts += [
            f'{split}_dataloader.dataset.data_root={data_root}',
            f'{split}_dataloader.num_workers=0',
            f'{split}_dataloader.persistent_workers=False'
        ]
    return opts


def _start_mim(args, cwd, pythonpath, log):
    """``mim <args>`` in the background (one thread: the two runs of this
    file train side by side), its output to the file ``log``."""
    env = dict(os.environ, PYTHONPATH=pythonpath, OMP_NUM_THREADS='1')
    with open(log, 'w') as out:
        return subprocess.Popen([sys.executable, '-c', MIM, *args],
                                cwd=cwd,
                                env=env,
                                stdout=out,
                                stderr=subprocess.STDOUT)


def _finished(proc, log):
    """The output of a :func:`_start_mim` run, which must have trained."""
    proc.wait(timeout=600)
    with open(log) as f:
        output = f.read()
    assert proc.returncode == 0, output[-5000:]
    assert 'Training finished successfully' in output, output[-3000:]
    return output


def _trained_frskd(work_dir):
    records = [r for r in scalars(work_dir) if 'loss_kd' in r]
    assert [r['iter'] for r in records] == [1, 2, 3]
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))


def test_model_index_lists_every_config():
    modelindex = pytest.importorskip('modelindex')
    index = modelindex.load(osp.join(ROOT, 'model-index.yml'))
    listed = sorted(m.config for m in index.models)
    configs = sorted(
        osp.relpath(p, ROOT)
        for folder in ('baseline', 'frskd', 'frskd_stable', 'demo')
        for p in glob.glob(osp.join(ROOT, 'configs', folder, '*.py')))
    assert listed == configs
    names = [m.name for m in index.models]
    assert len(set(names)) == len(names)


def _copy_checkout(dst):
    """The files a wheel is built from (no build outputs of the checkout:
    an in-tree build writes frskd_mm/.mim, build/ and *.egg-info)."""
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim')
    for name in ('frskd_mm', 'configs', 'tools'):
        shutil.copytree(
            osp.join(ROOT, name), osp.join(dst, name), ignore=ignore)
    for name in ('setup.py', 'model-index.yml', 'README.md'):
        shutil.copyfile(osp.join(ROOT, name), osp.join(dst, name))


@pytest.fixture(scope='module')
def mim_runs(digits_root, tmp_path_factory):
    """Both ``mim train`` runs, side by side: ``mmpretrain`` with this
    checkout on ``PYTHONPATH`` (started first, it trains while the wheel is
    built), and ``frskd_mm`` from a wheel of this checkout installed into
    ``site``. Returns ``{name: (work_dir, output)}`` and the site folder."""
    pytest.importorskip(
        'mim',
        reason='OpenMIM is not installed (see the '
        'README, "OpenMIM")')
    tmp = tmp_path_factory.mktemp('mim')
    work = {name: str(tmp / name) for name in ('mmpretrain', 'frskd_mm')}
    logs = {name: str(tmp / f'{name}.log') for name in work}
    procs = dict(
        mmpretrain=_start_mim([
            'train', 'mmpretrain', CONFIG, '--work-dir', work['mmpretrain'],
            '--cfg-options', *_tiny_options(digits_root)
        ], ROOT, ROOT, logs['mmpretrain']))
    try:
        src, wheels, site = (str(tmp / d) for d in ('src', 'whl', 'site'))
        _copy_checkout(src)
        pip = [
            sys.executable, '-m', 'pip', '--disable-pip-version-check', '-q'
        ]
        subprocess.run(
            pip +
            ['wheel', '--no-deps', '--no-build-isolation', src, '-w', wheels],
            check=True,
            capture_output=True)
        wheel = glob.glob(osp.join(wheels, 'frskd_mm-*.whl'))[0]
        subprocess.run(
            pip + ['install', '--no-deps', '--target', site, wheel],
            check=True,
            capture_output=True)
        # By config name, from a folder without configs/: mim finds it in
        # the installed package and runs the package's tools/train.py.
        procs['frskd_mm'] = _start_mim([
            'train', 'frskd_mm',
            osp.basename(CONFIG), '--work-dir', work['frskd_mm'],
            '--cfg-options', *_tiny_options(digits_root)
        ], str(tmp), site, logs['frskd_mm'])
        outputs = {
            name: _finished(proc, logs[name])
            for name, proc in procs.items()
        }
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    return {name: (work[name], outputs[name]) for name in work}, site


def test_mim_train_mmpretrain_runs_our_config(mim_runs):
    runs, _ = mim_runs
    work_dir, output = runs['mmpretrain']
    assert osp.join('mmpretrain', '.mim', 'tools', 'train.py') in output
    _trained_frskd(work_dir)


def test_mim_train_frskd_mm_from_a_wheel(mim_runs):
    runs, site = mim_runs
    tools = osp.join(site, 'frskd_mm', '.mim', 'tools', 'train.py')
    assert osp.isfile(tools)
    assert osp.isfile(osp.join(site, 'frskd_mm', '.mim', CONFIG))
    work_dir, output = runs['frskd_mm']
    assert tools in output
    _trained_frskd(work_dir)
