"""The GPU check's report: ``gpu_check.json`` and ``gpu_check.md``.

Used by tools/gpu_check.py (standard library only: it runs before the
OpenMMLab stack is installed).
"""
import os.path as osp

from gpu_check_env import frskd_util


def _ms(seconds):
    return f'{seconds * 1e3:,.1f}'


def bench_table(bench):
    """One row per cell: step times, paired ratio, images/s, memory."""
    rows = [
        '| model | precision | channels-last | baseline step (ms) | '
        'FRSKD step (ms) | FRSKD/baseline, paired (IQR) | baseline img/s | '
        'FRSKD img/s | baseline peak (MB) | FRSKD peak (MB) | '
        'memory FRSKD/baseline |', '|' + '---|' * 11
    ]
    for cell in bench:
        r = cell['result']
        b, f = r['models']['baseline'], r['models']['frskd']
        q25, q75 = r['ratios']['train_step_paired_q25_q75']
        rows.append(
            f'| {cell["model"]} | {cell["precision"]} ({cell["amp"]}) | '
            f'{"on" if cell["channels_last"] else "off"} | '
            f'{_ms(b["train_step"]["median_s"])} | '
            f'{_ms(f["train_step"]["median_s"])} | '
            f'{r["ratios"]["train_step_paired_median"]:.2f}x '
            f'({q25:.2f}-{q75:.2f}) | '
            f'{b["train_step"]["images_per_s"]:,.0f} | '
            f'{f["train_step"]["images_per_s"]:,.0f} | '
            f'{b["memory"]["peak_mb"]:,.0f} | {f["memory"]["peak_mb"]:,.0f} '
            f'| {r["ratios"]["memory_peak"]:.2f}x |')
    return rows


def profile_table(profile):
    rows = [
        f'Top ops of the FRSKD step by {profile["sort_by"]} (per step, mean '
        f'of {profile["steps"]}; all ops {profile["total_self_ms"]:.2f} ms):',
        '', '| op | self (ms) | self % | calls |', '|---|---|---|---|'
    ]
    for op in profile['ops']:
        rows.append(f'| `{op["name"]}` | {op["self_ms"]:.3f} | '
                    f'{op["self_pct"]:.1f} | {op["calls"]:.0f} |')
    return rows


def install_line(install):
    if not install['done']:
        return f'none ({install["why"]})'
    return (f'{install["wheels"]} wheels into {install["site"]}; mmcv: '
            f'{install["mmcv"]}')


def markdown(report):
    s, env, t = report['settings'], report['env'], report['targets']
    tests, train = report['tests'], report['train']
    first = report['bench'][0]['result']['settings']
    lines = [
        f'# GPU check: {"passed" if report["ok"] else "FAILED"}', '',
        f'Device {s["device"]}{" (quick sizes)" if s["quick"] else ""}: '
        f'{env["gpu"] or "no GPU"}; Python {env["python"]}, torch '
        f'{env["torch"]}, CUDA {env["cuda"]}, cuDNN {env["cudnn"]}, '
        f'{env["cpus"]} CPUs; git {env["git_commit"] or "unknown"}.', '',
        'Packages: ' + ', '.join(f'{k} {v}'
                                 for k, v in env['packages'].items() if v) +
        f'; mmcv.ops: {env["mmcv_ops"]}; mmseg: {env["mmseg"]}.', '',
        'Install: ' + install_line(report['install']) + '.', '',
        f'Tests (`pytest -m cuda`): {tests["passed"]} passed, '
        f'{tests["failed"]} failed, {tests["errors"]} errors, '
        f'{tests["skipped"]} skipped (exit {tests["returncode"]}).', '',
        f'## Benchmark: batch {first["batch_size"]}, {first["warmup"]} '
        f'warm-up + {first["iters"]} timed steps per model, alternating', ''
    ]
    lines += bench_table(report['bench'])
    lines += [
        '', 'Peak memory: ' + first['memory'] + '. Paired ratio: median of '
        'FRSKD/baseline over adjacent steps.', '',
        f'## Targets ({t["cell"]["model"]}, {t["cell"]["precision"]} '
        f'({t["cell"]["amp"]}), channels-last on)', '',
        f'- FRSKD/baseline step: {t["step_ratio"]:.2f}x (target <= '
        f'{t["step_ratio_max"]}x)',
        f'- FRSKD/baseline peak memory: {t["memory_ratio"]:.2f}x (target <= '
        f'{t["memory_ratio_max"]}x)',
        f'- {"met" if t["met"] else "MISSED: where the time goes below"}' +
        ('' if s['device'] == 'cuda' else
         ' (the targets are for CUDA; this is the CPU mode)'), ''
    ]
    if not t['met']:
        lines += profile_table(t['profile']) + ['']
    lines += [
        f'## Training: digits demo (FRSKD, stable recipe), {train["iters"]} '
        f'iterations, batch {train["batch"]}, {train["images"]} training '
        'images, '
        f'{"AMP (fp16)" if train["amp"] else "fp32 (AMP needs CUDA)"}', '',
        f'Mean loss of the first {train["window"]} iterations '
        f'{train["first_loss"]:.3f}, of the last {train["window"]} '
        f'{train["last_loss"]:.3f}: '
        f'{"falls" if train["loss_falls"] else "DOES NOT FALL"}; '
        f'test top-1 {train["top1"]}.', '', '## Time (s)', '',
        '| step | took | budget on a GPU |', '|---|---|---|'
    ]
    for name, took in report['timings'].items():
        budget = s['budget_s'].get(name, sum(s['budget_s'].values()))
        lines.append(f'| {name} | {took:.1f} | {budget} |')
    return '\n'.join(lines) + '\n'


def write_report(report, out):
    """Write ``gpu_check.json`` and ``gpu_check.md`` into ``out``."""
    json_path = frskd_util('json_io').write_json(
        osp.join(out, 'gpu_check.json'), report)
    md_path = osp.join(out, 'gpu_check.md')
    with open(md_path, 'w') as f:
        f.write(markdown(report))
    return json_path, md_path
