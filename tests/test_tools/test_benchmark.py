"""tools/analysis_tools/benchmark.py: what FRSKD costs, baseline vs FRSKD."""
import json
import math
import os.path as osp

import pytest
from conftest import load_tool
from mmengine.registry import DefaultScope

from frskd_mm.analysis import run_benchmark

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools/analysis_tools/benchmark.py')
WRN_BASE = osp.join(ROOT, 'configs/baseline/wrn16_2_cifar100.py')
WRN_FRSKD = osp.join(ROOT, 'configs/frskd/wrn16_2_cifar100.py')
SEG = 'efficientnet_b0_voc12aug_512x512.py'
SEG_BASE = osp.join(ROOT, 'configs/baseline', SEG)
SEG_FRSKD = osp.join(ROOT, 'configs/frskd', SEG)


def _load_tool():
    return load_tool('tools/analysis_tools/benchmark.py')


#: The keys of the result, as the tool has always written them.
SETTINGS = {
    'baseline_config', 'frskd_config', 'task', 'batch_size', 'input_size',
    'iters', 'warmup', 'repeats', 'seed', 'device', 'device_name',
    'torch_threads', 'cpu_count', 'load_avg_before', 'load_avg_after', 'torch',
    'source', 'malloc_tuned', 'order', 'step', 'timing', 'flops', 'memory',
    'amp', 'channels_last'
}
MODEL = {
    'config', 'task', 'num_classes', 'params', 'flops', 'train_step', 'memory',
    'last_losses'
}
PARAMS = {
    'total', 'student', 'self_teacher', 'distill_only', 'other_training_only',
    'deployed'
}
FLOPS = {
    'deployed', 'student_train', 'self_teacher', 'deployed_by_module',
    'self_teacher_by_module', 'uncounted_ops', 'self_teacher_modules'
}
TRAIN_STEP = {
    'median_s', 'q25_s', 'q75_s', 'iqr_s', 'min_s', 'max_s', 'mean_s', 'n',
    'times_s', 'round_medians_s', 'images_per_s'
}
RATIOS = {
    'train_step_median', 'train_step_min', 'train_step_paired_median',
    'train_step_paired_q25_q75', 'params_total', 'params_deployed',
    'flops_deployed', 'flops_train_forward', 'memory_step', 'memory_peak',
    'self_teacher_over_student_flops'
}
CHECKS = {
    'deployed_flops_equal', 'deployed_params_equal',
    'student_params_are_deployed', 'losses_finite'
}


def _check_keys(result):
    assert set(result) == {'settings', 'models', 'ratios', 'checks'}
    assert set(result['settings']) == SETTINGS
    assert {'models_sha1', 'git_commit'} <= set(result['settings']['source'])
    assert set(result['models']) == {'baseline', 'frskd'}
    for model in result['models'].values():
        assert set(model) == MODEL
        assert set(model['params']) == PARAMS
        assert set(model['flops']) == FLOPS
        assert set(model['train_step']) == TRAIN_STEP
        assert set(model['memory']) == {'method', 'peak_mb', 'step_mb'}
    assert set(result['ratios']) == RATIOS
    assert set(result['checks']) == CHECKS


def _check_consistent(result, iters, repeats, batch_size):
    _check_keys(result)
    base, frskd = result['models']['baseline'], result['models']['frskd']
    ratios, checks = result['ratios'], result['checks']
    for model in (base, frskd):
        step = model['train_step']
        assert len(step['times_s']) == iters * repeats
        assert len(step['round_medians_s']) == repeats
        assert all(t > 0 for t in step['times_s'])
        assert step['min_s'] <= step['q25_s'] <= step['median_s'] \
            <= step['q75_s'] <= step['max_s']
        assert step['iqr_s'] == pytest.approx(step['q75_s'] - step['q25_s'])
        assert step['images_per_s'] == pytest.approx(batch_size /
                                                     step['median_s'])
        assert math.isfinite(model['memory']['step_mb'])
        assert model['memory']['peak_mb'] > 0
        assert all(math.isfinite(v) for v in model['last_losses'].values())
        params = model['params']
        assert params['total'] == (
            params['student'] + params['self_teacher'] +
            params['distill_only'] + params['other_training_only'])
        assert params['student'] == params['deployed'] > 0
        # Train-mode BN counts more FLOPs than eval-mode BN.
        assert model['flops']['student_train'] >= model['flops']['deployed']

    # The deployed FRSKD model is exactly the baseline.
    assert frskd['flops']['deployed'] == base['flops']['deployed'] > 0
    assert frskd['params']['deployed'] == base['params']['deployed']
    assert checks['deployed_flops_equal'] and checks['deployed_params_equal']
    assert checks['student_params_are_deployed'] and checks['losses_finite']
    # The self-teacher exists in FRSKD only.
    assert frskd['flops']['self_teacher'] > 0
    assert frskd['params']['self_teacher'] > 0
    assert base['flops']['self_teacher'] == 0
    assert base['params']['self_teacher'] == 0
    assert 'neck' in frskd['flops']['self_teacher_modules']

    # Ratios are FRSKD / baseline of the reported numbers.
    def ratio(key, *path):
        a, b = frskd, base
        for p in path:
            a, b = a[p], b[p]
        assert ratios[key] == pytest.approx(a / b)

    ratio('train_step_median', 'train_step', 'median_s')
    ratio('train_step_min', 'train_step', 'min_s')
    paired = sorted(f / b for b, f in zip(base['train_step']['times_s'],
                                          frskd['train_step']['times_s']))
    assert paired[0] <= ratios['train_step_paired_median'] <= paired[-1]
    q25, q75 = ratios['train_step_paired_q25_q75']
    assert paired[0] <= q25 <= ratios['train_step_paired_median'] <= q75
    ratio('params_total', 'params', 'total')
    ratio('params_deployed', 'params', 'deployed')
    ratio('flops_deployed', 'flops', 'deployed')
    ratio('memory_peak', 'memory', 'peak_mb')
    assert ratios['flops_deployed'] == 1.0
    assert ratios['params_total'] > 1.0
    assert ratios['flops_train_forward'] == pytest.approx(
        (frskd['flops']['student_train'] + frskd['flops']['self_teacher']) /
        base['flops']['student_train'])
    assert ratios['self_teacher_over_student_flops'] == pytest.approx(
        frskd['flops']['self_teacher'] / frskd['flops']['student_train'])


def test_cli_wrn16_2_cifar100(tmp_path, capsys):
    out = tmp_path / 'sub' / 'bench.json'
    tool = _load_tool()
    tool.main([
        WRN_BASE, WRN_FRSKD, '--batch-size', '2', '--iters', '2', '--warmup',
        '1', '--repeats', '1', '--device', 'cpu', '--threads', '1', '--out',
        str(out)
    ])
    printed = capsys.readouterr().out
    assert 'deployed FLOPs FRSKD == baseline: yes' in printed
    assert 'self-teacher / student FLOPs' in printed

    result = json.loads(out.read_text())
    settings = result['settings']
    assert settings['device'] == 'cpu'
    assert settings['torch_threads'] == 1
    assert settings['batch_size'] == 2
    assert settings['input_size'] == [32, 32]  # from the config's RandomCrop
    assert len(settings['source']['models_sha1']) == 40
    assert settings['load_avg_before'] is None or \
        len(settings['load_avg_before']) == 3
    _check_consistent(result, iters=2, repeats=1, batch_size=2)
    # WRN-16-2's self-teacher (width 2) costs about 0.7x the student.
    assert 0.5 < result['ratios']['self_teacher_over_student_flops'] < 0.9
    assert result['models']['frskd']['params']['distill_only'] == 0


def test_segmentation_twins(tmp_path):
    # EfficientNet-B0 + UPerHead; --input-size also sets the padding size.
    result = run_benchmark(
        SEG_BASE,
        SEG_FRSKD,
        batch_size=2,
        input_size=(32, 32),
        iters=1,
        warmup=0,
        repeats=2,
        device='cpu',
        threads=1,
        log=None)
    assert result['settings']['task'] == 'segmentation'
    _check_consistent(result, iters=1, repeats=2, batch_size=2)
    frskd = result['models']['frskd']
    # The teacher decoder belongs to the self-teacher.
    assert 'decode_head.teacher' in frskd['flops']['self_teacher_modules']
    assert frskd['flops']['self_teacher_by_module']['teacher'] > 0
    # At 32x32 the deployed model costs far less than at the 512 crop.
    assert frskd['flops']['deployed'] < 1e9
    json.dumps(result)  # serialisable
    # MMSeg's builder sets the default scope; the benchmark restores it.
    assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'


def test_rejects_swapped_configs():
    with pytest.raises(ValueError, match='FRSKD config second'):
        run_benchmark(
            WRN_FRSKD,
            WRN_BASE,
            batch_size=2,
            iters=1,
            warmup=0,
            device='cpu',
            threads=1,
            log=None)


def test_bf16_channels_last_and_profile(tmp_path):
    # CPU bf16 autocast, the whole model NCHW, a profile of the FRSKD step.
    result = run_benchmark(
        WRN_BASE,
        WRN_FRSKD,
        batch_size=2,
        iters=1,
        warmup=0,
        device='cpu',
        threads=1,
        amp='bf16',
        channels_last=False,
        profile=1,
        log=None)
    assert set(result) == {'settings', 'models', 'ratios', 'checks', 'profile'}
    assert result['settings']['amp'] == 'bf16'
    assert result['settings']['channels_last'] is False
    assert result['checks']['losses_finite']
    profile = result['profile']
    assert profile['steps'] == 1 and 0 < len(profile['ops']) <= 15
    assert profile['total_self_ms'] > 0
    assert all(op['self_ms'] >= 0 for op in profile['ops'])
    tool = _load_tool()
    assert 'FRSKD step profile' in tool.format_table(result)
    json.dumps(result)


def test_rejects_fp16_on_cpu():
    with pytest.raises(ValueError, match='use --amp bf16 on the CPU'):
        run_benchmark(
            WRN_BASE,
            WRN_FRSKD,
            batch_size=2,
            iters=1,
            warmup=0,
            device='cpu',
            amp='fp16',
            log=None)
