"""tools/gpu_check.py in its CPU mode, end to end, so that it cannot rot
while no GPU runs it (no install step: this environment has the stack)."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: A test file with CUDA cases (the conftest's ``device`` fixture); collecting
#: the whole suite would take most of this test's time.
CUDA_TESTS = 'tests/test_models/test_necks/test_fusion.py'


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def test_cpu_quick(tmp_path):
    out = tmp_path / 'gpu_check'
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run([
        sys.executable, 'tools/gpu_check.py', '--device', 'cpu', '--quick',
        '--models', 'WRN-16-2', '--tests', CUDA_TESTS, '--out',
        str(out)
    ],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / 'gpu_check.json').read_text())
    assert {
        'settings', 'install', 'env', 'tests', 'bench', 'train', 'targets',
        'timings', 'ok'
    } <= set(report)
    assert report['ok'] is True
    assert report['install']['done'] is False  # importable already
    env = report['env']
    assert env['cuda_available'] is False and env['gpu'] is None
    assert env['packages']['mmengine'] and env['mmcv_ops'] is True

    # pytest -m cuda ran; without a GPU every selected case skips.
    tests = report['tests']
    assert tests['ok'] and tests['passed'] == 0 and tests['failed'] == 0

    # 1 model x {fp32, bf16} x {channels-last on, off}.
    cells = report['bench']
    assert [(c['precision'], c['channels_last'])
            for c in cells] == [('fp32', True), ('fp32', False), ('amp', True),
                                ('amp', False)]
    for cell in cells:
        result = cell['result']
        assert result['settings']['amp'] == cell['amp']
        assert result['settings']['channels_last'] is cell['channels_last']
        for model in result['models'].values():
            assert _finite(model['train_step']['median_s'])
            assert _finite(model['train_step']['images_per_s'])
            assert _finite(model['memory']['peak_mb'])
        assert _finite(result['ratios']['train_step_paired_median'])
        assert _finite(result['ratios']['memory_peak'])
        assert result['checks']['losses_finite']

    targets = report['targets']
    assert targets['cell'] == dict(
        model='WRN-16-2', precision='amp', amp='bf16', channels_last=True)
    assert _finite(targets['step_ratio']) and _finite(targets['memory_ratio'])
    assert isinstance(targets['met'], bool)
    assert targets['profile']['ops']  # the FRSKD step was profiled

    # The loss-falls check ran (and passed) on the short training.
    train = report['train']
    assert train['returncode'] == 0 and train['iters'] == 30
    assert _finite(train['first_loss']) and _finite(train['last_loss'])
    assert train['loss_falls'] is True and train['losses_finite']
    assert set(report['timings']) == {
        'install', 'env', 'tests', 'bench', 'train', 'total'
    }

    md = (out / 'gpu_check.md').read_text()
    assert md.startswith('# GPU check: passed')
    for text in ('| WRN-16-2 | amp (bf16) | on |', '## Targets',
                 'the targets are for CUDA', '## Training', 'falls',
                 '| total |'):
        assert text in md
