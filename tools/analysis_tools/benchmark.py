"""What FRSKD costs: a baseline config against its FRSKD twin.

Builds both models and, in one process, alternating them step by step on
the same random batch, reports parameters and forward FLOPs (student,
self-teacher, deployed model), the time of one training step (median,
inter-quartile range, min/max), the peak memory of a step and the
FRSKD/baseline ratios. Prints a table and writes JSON. Works for
classification (``default_scope='mmpretrain'``) and segmentation
(``default_scope='mmseg'``) configs, on CPU or CUDA. See
:mod:`frskd_mm.utils.benchmark` for what exactly is measured. Like
tools/train.py it raises glibc's malloc thresholds for both models
(:mod:`frskd_mm.utils.allocator`); ``FRSKD_MALLOC_TUNING=0`` turns that off.

Example:
    python tools/analysis_tools/benchmark.py configs/baseline/resnet18_cifar100.py \\
        configs/frskd/resnet18_cifar100.py --batch-size 64 --threads 2 \\
        --iters 10 --warmup 3 --device cpu --out benchmark_resnet18.json
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from frskd_mm.utils.benchmark import format_table, run_benchmark  # noqa


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark a baseline config against its FRSKD twin: '
        'params, FLOPs, training-step time and memory.')
    parser.add_argument('baseline_config', help='config of the plain model')
    parser.add_argument('frskd_config', help='config of the FRSKD model')
    parser.add_argument('--batch-size', type=int, default=64,
                        help='images per training step (default 64)')
    parser.add_argument('--input-size', type=int, nargs=2,
                        metavar=('H', 'W'),
                        help='input size (default: from the FRSKD config)')
    parser.add_argument('--iters', type=int, default=10,
                        help='timed steps per model and round (default 10)')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed warm-up steps per model (default 3)')
    parser.add_argument('--repeats', type=int, default=1,
                        help='rounds of --iters alternating steps; the '
                        'summary pools them and lists each round median '
                        '(default 1)')
    parser.add_argument('--device', default='auto',
                        help="cpu, cuda, cuda:i or auto (default: cuda if "
                        'available, else cpu)')
    parser.add_argument('--threads', type=int,
                        help='torch.set_num_threads (default: torch\'s)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the weights and the random batch')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
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
        log=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(format_table(result))
    if args.out:
        folder = osp.dirname(osp.abspath(args.out))
        os.makedirs(folder, exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'Results written to {args.out}')
    return result


if __name__ == '__main__':
    main()
