"""tools/analysis_tools/benchmark.py: what FRSKD costs, baseline vs FRSKD."""
import json
import math
import os.path as osp

import pytest
from conftest import load_tool

from frskd_mm.utils.benchmark import (infer_input_size, load_config,
                                      run_benchmark, summarize_times)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools/analysis_tools/benchmark.py')
WRN_BASE = osp.join(ROOT, 'configs/baseline/wrn16_2_cifar100.py')
WRN_FRSKD = osp.join(ROOT, 'configs/frskd/wrn16_2_cifar100.py')
SEG = 'efficientnet_b0_voc12aug_512x512.py'
SEG_BASE = osp.join(ROOT, 'configs/baseline', SEG)
SEG_FRSKD = osp.join(ROOT, 'configs/frskd', SEG)


def _load_tool():
    return load_tool('tools/analysis_tools/benchmark.py')


def _check_consistent(result, iters, repeats, batch_size):
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
        assert params['total'] == (params['student'] +
                                   params['self_teacher'] +
                                   params['distill_only'] +
                                   params['other_training_only'])
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
        WRN_BASE, WRN_FRSKD, '--batch-size', '2', '--iters', '2',
        '--warmup', '1', '--repeats', '1', '--device', 'cpu', '--threads',
        '1', '--out',
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
        SEG_BASE, SEG_FRSKD, batch_size=2, input_size=(32, 32), iters=1,
        warmup=0, repeats=2, device='cpu', threads=1, log=None)
    assert result['settings']['task'] == 'segmentation'
    _check_consistent(result, iters=1, repeats=2, batch_size=2)
    frskd = result['models']['frskd']
    # The teacher decoder belongs to the self-teacher.
    assert 'decode_head.teacher' in frskd['flops']['self_teacher_modules']
    assert frskd['flops']['self_teacher_by_module']['teacher'] > 0
    # At 32x32 the deployed model costs far less than at the 512 crop.
    assert frskd['flops']['deployed'] < 1e9
    json.dumps(result)  # serialisable


def test_input_size_from_configs():
    assert infer_input_size(load_config(WRN_FRSKD)) == (32, 32)
    assert infer_input_size(load_config(SEG_FRSKD)) == (512, 512)


def test_summarize_times():
    stats = summarize_times([5.0, 1.0, 3.0, 2.0, 4.0])
    assert stats['median_s'] == 3.0
    assert (stats['q25_s'], stats['q75_s'],
            stats['iqr_s']) == (2.0, 4.0, 2.0)
    assert (stats['min_s'], stats['max_s'], stats['n']) == (1.0, 5.0, 5)
    with pytest.raises(ValueError, match='--iters'):
        summarize_times([])


def test_rejects_swapped_configs():
    with pytest.raises(ValueError, match='FRSKD config second'):
        run_benchmark(WRN_FRSKD, WRN_BASE, batch_size=2, iters=1, warmup=0,
                      device='cpu', threads=1, log=None)
