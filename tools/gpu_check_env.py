"""The GPU check's first two steps: install the carried wheels, print the
environment.

Used by tools/gpu_check.py (standard library only: it runs before the
OpenMMLab stack is installed).
"""
import glob
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

MODULES = ('mmengine', 'mmcv', 'mmpretrain', 'mmseg', 'ftfy', 'regex')


def frskd_util(name):
    """``frskd_mm/utils/<name>.py`` loaded from its file, for the utils that
    use the standard library only (``logs``: the one reader of MMEngine's
    scalars.json; ``json_io``: the one JSON result writer): this script runs
    where the stack, and so the frskd_mm package, may not be importable."""
    path = osp.join(ROOT, 'frskd_mm', 'utils', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'frskd_mm_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sh(cmd, timeout, log, env=None, **kw):
    """Run ``cmd`` (a list) from the repository root; its output goes to
    the file ``log``. Returns the return code (124 on timeout)."""
    with open(log, 'w') as f:
        try:
            return subprocess.run(
                cmd,
                cwd=ROOT,
                stdout=f,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                env=env or os.environ,
                **kw).returncode
        except subprocess.TimeoutExpired:
            f.write(f'\n[gpu_check] killed after {timeout} s\n')
            return 124


def missing_modules():
    code = ('import importlib.util as u, sys; print(" ".join(m for m in '
            f'{MODULES!r} if u.find_spec(m) is None))')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         env=os.environ)
    return out.stdout.split()


def step_install(args, out):
    """Install the carried wheels into ``<out>/site`` (put first on
    PYTHONPATH for every later step)."""
    missing = missing_modules()
    if not missing:
        return dict(done=False, why='the stack is importable already')
    if not args.wheels:
        raise SystemExit(f'{", ".join(missing)} not importable and no '
                         '--wheels DIR given; make the folder with '
                         'tools/env/prepare_gpu_wheels.sh and pass it.')
    wheels = osp.abspath(args.wheels)
    site = osp.join(out, 'site')
    whl = sorted(glob.glob(osp.join(wheels, '*.whl')))
    if not whl:
        raise SystemExit(f'No *.whl in {wheels}; run '
                         'tools/env/prepare_gpu_wheels.sh DIR first.')
    pip = [
        sys.executable, '-m', 'pip', 'install', '-q', '--no-index',
        '--no-deps', '--no-compile', '--target', site
    ]
    if sh(pip + whl, 120, osp.join(out, 'install.log')):
        raise SystemExit(f'pip install from {wheels} failed: see '
                         f'{out}/install.log')
    os.environ['PYTHONPATH'] = os.pathsep.join(
        [ROOT, site, os.environ.get('PYTHONPATH', '')])
    result = dict(done=True, wheels=len(whl), site=site, mmcv='wheel')
    if any('/mmcv-' in w for w in whl):
        return result
    sdist = glob.glob(osp.join(wheels, 'mmcv-*.tar.gz'))
    if not sdist:
        raise SystemExit(f'No mmcv wheel or sdist in {wheels}.')
    # CPU ops only (no GPU visible to the build): minutes, not half an
    # hour; the FRSKD models use no mmcv CUDA op.
    env = dict(
        os.environ,
        MMCV_WITH_OPS='1',
        FORCE_CUDA='0',
        CUDA_VISIBLE_DEVICES='',
        MAX_JOBS=str(os.cpu_count() or 2),
        CXX=osp.join(ROOT, 'tools/env/cxx20.sh'))
    build = [
        sys.executable, '-m', 'pip', 'wheel', '-q', '--no-index', '--no-deps',
        '--no-build-isolation', '-w',
        osp.join(out, 'mmcv')
    ]
    if sh(build + sdist[:1], 300, osp.join(out, 'mmcv_build.log'), env):
        # Without ops: mmseg (which imports mmcv.ops) is unusable.
        env['MMCV_WITH_OPS'] = '0'
        sh(build + sdist[:1], 120, osp.join(out, 'mmcv_lite.log'), env)
        result['mmcv'] = ('built WITHOUT ops (see mmcv_build.log): '
                          'classification only')
    else:
        result['mmcv'] = 'built from the sdist with CPU ops'
    built = glob.glob(osp.join(out, 'mmcv', 'mmcv-*.whl'))
    if not built or sh(pip + built, 60, osp.join(out, 'install_mmcv.log')):
        raise SystemExit(f'mmcv could not be built or installed: see '
                         f'{out}/mmcv_build.log and {out}/mmcv_lite.log')
    return result


ENV_CODE = r'''
import json, subprocess, sys, importlib.metadata as md, torch
cuda = torch.cuda.is_available()
def ver(p):
    try:
        return md.version(p)
    except md.PackageNotFoundError:
        return None
def ok(m):
    try:
        __import__(m)
        return True
    except Exception as e:
        return f'{type(e).__name__}: {e}'
git = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True,
                     text=True)
pkgs = ['torch', 'torchvision', 'numpy', 'mmengine', 'mmcv', 'mmcv-lite',
        'mmpretrain', 'mmsegmentation', 'opencv-python',
        'opencv-python-headless', 'setuptools', 'scikit-learn']
print(json.dumps(dict(
    python=sys.version.split()[0], torch=torch.__version__,
    cuda_available=cuda, cuda=torch.version.cuda,
    cudnn=torch.backends.cudnn.version(),
    gpu=torch.cuda.get_device_name(0) if cuda else None,
    capability=list(torch.cuda.get_device_capability(0)) if cuda else None,
    cpus=__import__('os').cpu_count(),
    packages={p: ver(p) for p in pkgs},
    mmcv_ops=ok('mmcv.ops'), mmseg=ok('mmseg.models'),
    git_commit=git.stdout.strip() or None)))
'''


def step_env(args, out):
    log = osp.join(out, 'env.log')
    if sh([sys.executable, '-c', ENV_CODE], 60, log):
        raise SystemExit(f'Printing the environment failed: see {log}')
    with open(log) as f:
        env = json.loads(f.read().strip().splitlines()[-1])
    if args.device == 'cuda' and not env['cuda_available']:
        raise SystemExit('--device cuda but torch.cuda.is_available() is '
                         'False here; use --device cpu for the CPU mode.')
    return env
