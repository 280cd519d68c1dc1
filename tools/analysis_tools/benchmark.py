"""What FRSKD costs: a baseline config against its FRSKD twin.

Builds both models and, in one process, alternating them step by step on
the same random batch, reports parameters and forward FLOPs (student,
self-teacher, deployed model), the time of one training step (median,
inter-quartile range, min/max), the peak memory of a step and the
FRSKD/baseline ratios, optionally in mixed precision (``--amp``), with
channels-last on or off (``--channels-last``) and with a profile of the
FRSKD step's top ops (``--profile N``). Prints a table and writes JSON.
Works for
classification (``default_scope='mmpretrain'``), segmentation
(``default_scope='mmseg'``) and detection (``default_scope='mmdet'``)
configs, on CPU or CUDA. See
:mod:`frskd_mm.analysis` for what exactly is measured. Like
tools/train.py it raises glibc's malloc thresholds for both models
(:mod:`frskd_mm.utils.allocator`); ``FRSKD_MALLOC_TUNING=0`` turns that off.

Example:
    python tools/analysis_tools/benchmark.py \\
        configs/baseline/resnet18_cifar100.py \\
        configs/frskd/resnet18_cifar100.py --batch-size 64 --threads 2 \\
        --iters 10 --warmup 3 --device cpu --out benchmark_resnet18.json
    python tools/analysis_tools/benchmark.py \
        configs/baseline/resnet18_cifar100.py \
        configs/frskd/resnet18_cifar100.py --batch-size 128 --device cuda \
        --amp fp16 --channels-last on --profile 5 --out bench_amp.json
"""
import argparse
import sys
from typing import Any, Dict, Optional

from mmengine.config import DictAction

from frskd_mm.analysis import run_benchmark
from frskd_mm.utils.json_io import write_json


def _ratio(a, b) -> Optional[float]:
    return float(a) / float(b) if b else None


def _fmt(value, scale: float = 1.0, digits: int = 2) -> str:
    if value is None:
        return '-'
    return f'{value / scale:,.{digits}f}'


def _busy(settings: Dict[str, Any]) -> bool:
    loads = [
        load[0] for load in (settings.get('load_avg_before'),
                             settings.get('load_avg_after')) if load
    ]
    cpus = settings.get('cpu_count') or 1
    return settings.get('device', 'cpu') == 'cpu' and any(load > cpus
                                                          for load in loads)


_CL = {True: 'on', False: 'off', None: 'as configured'}
_CL_ARG = {'on': True, 'off': False, None: None}


def format_profile(profile: Dict[str, Any]) -> str:
    """The top ops of :func:`~frskd_mm.analysis.profiling.profile_steps`."""
    out = [
        f'FRSKD step profile: top ops by {profile["sort_by"]}, per step '
        f'(mean of {profile["steps"]}; all ops '
        f'{profile["total_self_ms"]:.2f} ms)'
    ]
    out.append(f'{"self ms":>9}  {"self %":>6}  {"calls":>7}  op')
    for op in profile['ops']:
        out.append(f'{op["self_ms"]:9.3f}  {op["self_pct"]:6.1f}  '
                   f'{op["calls"]:7.1f}  {op["name"]}')
    return '\n'.join(out)


def format_table(result: Dict[str, Any]) -> str:
    """A readable text table of :func:`run_benchmark`'s result."""
    s, b, f = result['settings'], result['models']['baseline'], \
        result['models']['frskd']
    r, c = result['ratios'], result['checks']

    def row(label, key_b, key_f, scale=1.0, digits=2, ratio=True):
        vb, vf = key_b, key_f
        rt = _fmt(_ratio(vf, vb), digits=2) + 'x' if ratio and vb else '-'
        return (label, _fmt(vb, scale, digits), _fmt(vf, scale, digits), rt)

    tb, tf = b['train_step'], f['train_step']
    rows = [
        ('Parameters (M)', '', '', ''),
        row('  student (backbone + head)', b['params']['student'],
            f['params']['student'], 1e6, 3),
        row('  self-teacher',
            b['params']['self_teacher'],
            f['params']['self_teacher'],
            1e6,
            3,
            ratio=False),
        row('  distillation-only',
            b['params']['distill_only'],
            f['params']['distill_only'],
            1e6,
            3,
            ratio=False),
        row('  other training-only',
            b['params']['other_training_only'],
            f['params']['other_training_only'],
            1e6,
            3,
            ratio=False),
        row('  deployed (run in eval)', b['params']['deployed'],
            f['params']['deployed'], 1e6, 3),
        row('  trained in total', b['params']['total'], f['params']['total'],
            1e6, 3),
        ('Forward GFLOPs / image', '', '', ''),
        row('  student, train mode', b['flops']['student_train'],
            f['flops']['student_train'], 1e9, 4),
        row('  self-teacher, train mode',
            b['flops']['self_teacher'],
            f['flops']['self_teacher'],
            1e9,
            4,
            ratio=False),
        row('  training forward (sum)',
            b['flops']['student_train'] + b['flops']['self_teacher'],
            f['flops']['student_train'] + f['flops']['self_teacher'], 1e9, 4),
        row('  deployed, eval mode', b['flops']['deployed'],
            f['flops']['deployed'], 1e9, 4),
        (f'Train step (ms), batch {s["batch_size"]}', '', '', ''),
        row('  median', tb['median_s'], tf['median_s'], 1e-3, 1),
        row('  IQR (q75 - q25)',
            tb['iqr_s'],
            tf['iqr_s'],
            1e-3,
            1,
            ratio=False),
        row('  min', tb['min_s'], tf['min_s'], 1e-3, 1),
        row('  max', tb['max_s'], tf['max_s'], 1e-3, 1),
        row('  images / s (median)', tb['images_per_s'], tf['images_per_s'], 1,
            1),
        ('  paired ratio: median (IQR)', '', '',
         f'{r["train_step_paired_median"]:.2f}x ('
         f'{r["train_step_paired_q25_q75"][0]:.2f}-'
         f'{r["train_step_paired_q25_q75"][1]:.2f})'),
        ('Memory (MB)', '', '', ''),
        row('  step peak over start', b['memory']['step_mb'],
            f['memory']['step_mb'], 1, 1),
        row('  process peak', b['memory']['peak_mb'], f['memory']['peak_mb'],
            1, 1),
    ]
    header = ('', 'baseline', 'FRSKD', 'FRSKD/base')
    widths = [max(len(str(x[i])) for x in rows + [header]) for i in range(4)]
    line = '-' * (sum(widths) + 9)
    out = [
        f'FRSKD benchmark ({s["task"]}): {s["device"]} ({s["device_name"]}),'
        f' {s["torch_threads"]} thread(s), input {s["input_size"][0]}x'
        f'{s["input_size"][1]}, {s["warmup"]} warm-up + '
        f'{s["iters"]}x{s["repeats"]} timed steps per model, alternating, '
        f'AMP {s.get("amp", "none")}, channels-last '
        f'{_CL.get(s.get("channels_last"))}' +
        (', glibc malloc thresholds raised' if s.get('malloc_tuned') else ''),
        f'  baseline: {s["baseline_config"]}',
        f'  FRSKD:    {s["frskd_config"]}',
        f'  code: commit {str(s["source"].get("git_commit"))[:10]}, '
        f'frskd_mm/models sha1 {s["source"]["models_sha1"][:10]}, '
        f'{len(s["source"].get("frskd_mm_changes", []))} uncommitted '
        'change(s) in frskd_mm/',
        f'  load average before/after: {s["load_avg_before"]} / '
        f'{s["load_avg_after"]} on {s["cpu_count"]} CPUs' +
        (' (busy machine: timings are inflated and noisy)'
         if _busy(s) else ''), line, '  '.join(
             h.ljust(w) if i == 0 else h.rjust(w)
             for i, (h, w) in enumerate(zip(header, widths))), line
    ]
    for rw in rows:
        out.append('  '.join(
            str(v).ljust(w) if i == 0 else str(v).rjust(w)
            for i, (v, w) in enumerate(zip(rw, widths))))
    out += [
        line, 'self-teacher / student FLOPs (train mode): '
        f'{_fmt(r["self_teacher_over_student_flops"], digits=3)}',
        'deployed FLOPs FRSKD == baseline: '
        f'{"yes" if c["deployed_flops_equal"] else "NO"} '
        f'({b["flops"]["deployed"]:,} vs {f["flops"]["deployed"]:,}); '
        'deployed params equal: '
        f'{"yes" if c["deployed_params_equal"] else "NO"}',
        f'round medians (ms): baseline '
        f'{[round(t * 1e3, 1) for t in tb["round_medians_s"]]}, FRSKD '
        f'{[round(t * 1e3, 1) for t in tf["round_medians_s"]]}',
        f'timing: {s["timing"]}', f'memory: {s["memory"]}',
        f'flops: {s["flops"]}'
    ]
    if result.get('profile'):
        out.append(format_profile(result['profile']))
    return '\n'.join(out)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark a baseline config against its FRSKD twin: '
        'params, FLOPs, training-step time and memory.')
    parser.add_argument('baseline_config', help='config of the plain model')
    parser.add_argument('frskd_config', help='config of the FRSKD model')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=64,
        help='images per training step (default 64)')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input size (default: from the FRSKD config)')
    parser.add_argument(
        '--iters',
        type=int,
        default=10,
        help='timed steps per model and round (default 10)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=3,
        help='untimed warm-up steps per model (default 3)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=1,
        help='rounds of --iters alternating steps; the '
        'summary pools them and lists each round median '
        '(default 1)')
    parser.add_argument(
        '--device',
        default='auto',
        help="cpu, cuda, cuda:i or auto (default: cuda if "
        'available, else cpu)')
    parser.add_argument(
        '--threads',
        type=int,
        help='torch.set_num_threads (default: torch\'s)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the weights and the random batch')
    parser.add_argument(
        '--amp',
        choices=['none', 'fp16', 'bf16'],
        default='none',
        help='mixed precision: fp16 (CUDA: AmpOptimWrapper, dynamic loss '
        'scale, as tools/train.py --amp) or bf16 (CUDA or CPU autocast); '
        'default none (fp32)')
    parser.add_argument(
        '--channels-last',
        choices=['on', 'off'],
        help='whole model and input in channels-last (on) or NCHW, the '
        "self-teacher included (off); default: as the configs build them "
        "(FRSKDNeck's own layers channels-last)")
    parser.add_argument(
        '--profile',
        type=int,
        default=0,
        metavar='N',
        help='after the timing, profile N FRSKD steps and print the top '
        'ops by self time (torch.profiler)')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides applied to both configs')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    result = run_benchmark(
        args.baseline_config,
        args.frskd_config,
        batch_size=args.batch_size,
        input_size=args.input_size,
        iters=args.iters,
        warmup=args.warmup,
        repeats=args.repeats,
        device=args.device,
        threads=args.threads,
        seed=args.seed,
        cfg_options=args.cfg_options,
        amp=args.amp,
        channels_last=_CL_ARG[args.channels_last],
        profile=args.profile,
        log=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(format_table(result))
    if args.out:
        write_json(args.out, result)
        print(f'Results written to {args.out}')
    return result


if __name__ == '__main__':
    main()
