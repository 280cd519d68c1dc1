"""The GPU check: one prepared run of everything that needs a GPU.

On a fresh CUDA machine with Python and PyTorch but no internet, given this
repository and a folder of wheels made by tools/env/prepare_gpu_wheels.sh:

1. install  the OpenMMLab stack from the wheels (``--wheels``; skipped when
            it is importable already); mmcv from its wheel, else built from
            the carried sdist with CPU ops, else without ops (classification
            only; said so in the report);
2. env      torch, CUDA, GPU, package versions, git commit;
3. tests    ``pytest -m cuda`` (on the CPU the same selection, which skips);
4. bench    tools/analysis_tools/benchmark.py's measurement for
            ResNet18-CIFAR and WRN-16-2, baseline vs FRSKD side by side in
            one process, fp32 and AMP, channels-last on and off;
5. train    the digits demo (FRSKD, stable recipe) through tools/train.py
            with AMP for a few hundred iterations; the loss must fall;
6. targets  ResNet18-CIFAR, batch 128, AMP, channels-last on: FRSKD /
            baseline step <= 1.8x and peak memory <= 2x; the FRSKD step's
            profile (top ops) is shown when either is missed.

Every figure goes to ``<out>/gpu_check.json`` and ``<out>/gpu_check.md``.
``--device cpu --quick`` runs the same steps at tiny sizes (the test of this
script). Usage:
    bash tools/gpu_check.sh --wheels wheels --out work_dirs/gpu_check
    python tools/gpu_check.py --device cpu --quick --out /tmp/gpu_check
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import time
import xml.etree.ElementTree as ET

from gpu_check_env import frskd_util, sh, step_env, step_install
from gpu_check_report import write_report

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: Seconds each step may take on a GPU (8 minutes in all).
BUDGET = dict(install=200, env=10, tests=60, bench=140, train=70)
MODELS = {
    'ResNet18-CIFAR': 'resnet18_cifar100.py',
    'WRN-16-2': 'wrn16_2_cifar100.py'
}
#: Batch, warm-up, timed steps, profiled steps, training iterations/batch.
SIZES = {
    'cuda':
    dict(
        batch=128,
        warmup=5,
        iters=20,
        profile=5,
        train_iters=300,
        train_batch=64,
        train_lr=0.1),
    'cpu':
    dict(
        batch=16,
        warmup=1,
        iters=3,
        profile=1,
        train_iters=60,
        train_batch=32,
        train_lr=0.05),
    # --quick trains on 16 of the images (one batch), spread over the
    # classes, so that the loss falls within a handful of iterations.
    'quick':
    dict(
        batch=2,
        warmup=1,
        iters=2,
        profile=1,
        train_iters=30,
        train_batch=16,
        train_lr=0.05,
        train_subset=16),
}
TARGETS = dict(step_ratio=1.8, memory_ratio=2.0)


def step_tests(args, out):
    xml = osp.join(out, 'pytest_cuda.xml')
    cmd = [
        sys.executable, '-m', 'pytest', '-m', 'cuda', '-q', '-rs', '-p',
        'no:cacheprovider', f'--junitxml={xml}'
    ] + args.tests
    rc = sh(cmd, 300, osp.join(out, 'pytest_cuda.log'))
    counts = dict(returncode=rc, passed=0, failed=0, errors=0, skipped=0)
    if osp.exists(xml):
        for suite in ET.parse(xml).getroot().iter('testsuite'):
            n, f, e, s = (
                int(suite.get(k, 0))
                for k in ('tests', 'failures', 'errors', 'skipped'))
            counts['failed'] += f
            counts['errors'] += e
            counts['skipped'] += s
            counts['passed'] += n - f - e - s
    counts['ok'] = rc in (0, 5) and not counts['failed'] \
        and not counts['errors']
    return counts


def bench_cells(device, models):
    amp = 'fp16' if device == 'cuda' else 'bf16'
    return [
        dict(model=m, precision=p, amp=a, channels_last=cl) for m in models
        for p, a in (('fp32', 'none'), ('amp', amp)) for cl in (True, False)
    ]


def bench_worker(spec_file):
    """Run every cell of the matrix in this process (imports paid once)."""
    import torch

    from frskd_mm.analysis import run_benchmark
    with open(spec_file) as f:
        spec = json.load(f)
    torch.backends.cudnn.benchmark = spec['device'] == 'cuda'
    results = []
    for cell in spec['cells']:
        name, start = MODELS[cell['model']], time.perf_counter()
        # The target cell: the first model (ResNet18-CIFAR), AMP, NHWC.
        target = cell['model'] == spec['cells'][0]['model'] and \
            cell['precision'] == 'amp' and cell['channels_last']
        results.append(
            dict(
                cell,
                cudnn_benchmark=spec['device'] == 'cuda',
                result=run_benchmark(
                    osp.join(ROOT, 'configs/baseline', name),
                    osp.join(ROOT, 'configs/frskd', name),
                    batch_size=spec['batch'],
                    iters=spec['iters'],
                    warmup=spec['warmup'],
                    device=spec['device'],
                    amp=cell['amp'],
                    channels_last=cell['channels_last'],
                    profile=spec['profile'] if target else 0,
                    log=None)))
        print(f'{cell}: {time.perf_counter() - start:.1f} s', flush=True)
    frskd_util('json_io').write_json(spec['out'], results)


def step_bench(args, out, sizes):
    spec = dict(
        sizes,
        device=args.device,
        cells=bench_cells(args.device, args.models),
        out=osp.join(out, 'bench.json'))
    spec_file = frskd_util('json_io').write_json(
        osp.join(out, 'bench_spec.json'), spec)
    log = osp.join(out, 'bench.log')
    if sh([sys.executable, __file__, '--bench-worker', spec_file], 540, log):
        raise SystemExit(f'The benchmark failed: see {log}')
    with open(spec['out']) as f:
        return json.load(f)


TRAIN_CFG = '''_base_ = [{base!r}]
data_root = {data!r}
loader = dict(num_workers={workers}, persistent_workers={persist})
train_dataloader = dict(batch_size={batch}, dataset=dict(data_root=data_root),
                        **loader)
val_dataloader = dict(dataset=dict(data_root=data_root), **loader)
test_dataloader = val_dataloader
train_cfg = dict(_delete_=True, by_epoch=False, max_iters={iters},
                 val_interval={iters})
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR',
                       by_epoch=False, T_max={iters})
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval={iters}))
log_processor = dict(by_epoch=False)
optim_wrapper = dict(optimizer=dict(lr={lr}))
'''
# A few images, repeated (a new epoch every few steps is slow).
SUBSET = '''train_dataloader['dataset'] = dict(
    _delete_=True,
    type='RepeatDataset',
    times=1000,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline={{{{_base_.train_pipeline}}}},
        indices=list(range(0, 1440, 1440 // {n}))))
'''


def step_train(args, out, sizes):
    data = osp.join(ROOT, 'data/digits')
    if not osp.isdir(osp.join(data, 'train')):
        sh([
            sys.executable, 'tools/dataset_converters/digits_to_folder.py',
            data
        ], 120, osp.join(out, 'digits.log'))
    iters, workers = sizes['train_iters'], 4 if args.device == 'cuda' else 0
    cfg = osp.join(out, 'train_digits_amp.py')
    with open(cfg, 'w') as f:
        f.write(
            TRAIN_CFG.format(
                base=osp.join(ROOT,
                              'configs/demo/frskd_stable_wrn16_2_digits.py'),
                data=data,
                workers=workers,
                persist=workers > 0,
                batch=sizes['train_batch'],
                iters=iters,
                lr=sizes['train_lr']))
        if sizes.get('train_subset'):
            f.write(SUBSET.format(n=sizes['train_subset']))
    work_dir = osp.join(out, 'train')
    # MMEngine's AmpOptimWrapper runs on CUDA only: fp32 on the CPU.
    amp = args.device == 'cuda'
    cmd = [sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir]
    rc = sh(cmd + (['--amp'] if amp else []), 400, osp.join(out, 'train.log'))
    logs = frskd_util('logs')
    try:
        records = logs.read_records(logs.find_scalar_logs(work_dir)[-1])
    except FileNotFoundError:
        records = []  # the run failed before its first log: rc says why
    losses = [r['loss'] for r in records if 'loss' in r]
    window = max(1, len(losses) // 5)
    first = sum(losses[:window]) / window if losses else math.nan
    last = sum(losses[-window:]) / window if losses else math.nan
    accuracy = [r['accuracy/top1'] for r in records if 'accuracy/top1' in r]
    return dict(
        returncode=rc,
        amp=amp,
        iters=len(losses),
        batch=sizes['train_batch'],
        images=sizes.get('train_subset', 'all'),
        config='configs/demo/frskd_stable_wrn16_2_digits.py',
        window=window,
        first_loss=first,
        last_loss=last,
        losses_finite=all(math.isfinite(v) for v in losses) and bool(losses),
        loss_falls=last < first,
        top1=accuracy[-1] if accuracy else None,
        ok=rc == 0 and len(losses) == iters and last < first)


def step_targets(bench):
    cell = next(c for c in bench if c.get('result', {}).get('profile'))
    ratios = cell['result']['ratios']
    step, memory = ratios['train_step_paired_median'], ratios['memory_peak']
    return dict(
        cell={
            k: cell[k]
            for k in ('model', 'precision', 'amp', 'channels_last')
        },
        step_ratio=step,
        step_ratio_max=TARGETS['step_ratio'],
        memory_ratio=memory,
        memory_ratio_max=TARGETS['memory_ratio'],
        met=step <= TARGETS['step_ratio']
        and memory <= TARGETS['memory_ratio'],
        profile=cell['result']['profile'])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', choices=['cuda', 'cpu'], default='cuda')
    parser.add_argument(
        '--wheels',
        help='folder of tools/env/'
        'prepare_gpu_wheels.sh (needed when the stack is '
        'not importable)')
    parser.add_argument(
        '--out',
        default='work_dirs/gpu_check',
        help='results folder (default work_dirs/gpu_check)')
    parser.add_argument(
        '--quick', action='store_true', help='tiny sizes (the CPU-mode test)')
    parser.add_argument(
        '--tests',
        nargs='+',
        default=['tests'],
        help='what pytest -m cuda collects (default tests)')
    parser.add_argument(
        '--models',
        nargs='+',
        choices=list(MODELS),
        default=list(MODELS),
        help='models of the benchmark (default both; the '
        'first is the targets\' model)')
    parser.add_argument('--bench-worker', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.bench_worker:
        return bench_worker(args.bench_worker)
    out = osp.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    os.environ['PYTHONPATH'] = os.pathsep.join(
        [ROOT, os.environ.get('PYTHONPATH', '')])
    sizes = SIZES['quick' if args.quick else args.device]
    report = dict(
        settings=dict(
            device=args.device,
            quick=args.quick,
            sizes=sizes,
            budget_s=BUDGET,
            targets=TARGETS),
        timings={})
    start = time.perf_counter()
    steps = [('install', lambda: step_install(args, out)),
             ('env', lambda: step_env(args, out)),
             ('tests', lambda: step_tests(args, out)),
             ('bench', lambda: step_bench(args, out, sizes)),
             ('train', lambda: step_train(args, out, sizes))]
    for name, run in steps:
        t0 = time.perf_counter()
        print(
            f'[gpu_check] {name} (budget {BUDGET[name]} s on a GPU)...',
            flush=True)
        report[name] = run()
        took = time.perf_counter() - t0
        report['timings'][name] = took
        print(f'[gpu_check] {name}: {took:.1f} s', flush=True)
    report['targets'] = step_targets(report['bench'])
    total = time.perf_counter() - start
    report['timings']['total'] = total
    report['ok'] = report['tests']['ok'] and report['train']['ok'] and all(
        c['result']['checks']['losses_finite'] for c in report['bench'])
    json_path, md_path = write_report(report, out)
    print(f'[gpu_check] {total:.0f} s in all (budget '
          f'{sum(BUDGET.values())} s on a GPU); results: {json_path}, '
          f'{md_path}')
    print(open(md_path).read())
    return 0 if report['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
