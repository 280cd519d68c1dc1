"""What FRSKD costs: a baseline config against its FRSKD twin.

:func:`run_benchmark` builds both models (any task of
:mod:`frskd_mm.tasks`) and measures, in one process and on one device:

- **parameters** by role and **forward FLOPs per image** of the deployed
  model, the student in training and the self-teacher
  (:func:`~frskd_mm.analysis.cost.analyze_model`); the deployed FRSKD model
  must equal the baseline exactly;
- **one training step** as MMEngine's ``train_step`` runs it minus the
  data preprocessor (done once, outside the timing): ``forward(mode='loss')``
  with FRSKD's stop-gradient switched on by
  :meth:`FRSKDHook.before_train <frskd_mm.engine.hooks.FRSKDHook>`,
  ``parse_losses``, backward and the optimizer step of the config's
  ``optim_wrapper``; the two models alternate step by step (A B A B ...)
  on the same random batch; median, inter-quartile range and min/max
  (:mod:`~frskd_mm.analysis.timing`);
- **peak memory** of a training step
  (:func:`~frskd_mm.analysis.memory.measure_step_memory`);
- optionally in **mixed precision** (``amp``: fp16 or bf16 autocast) and
  with **channels-last** on or off for the whole model
  (:mod:`~frskd_mm.analysis.precision`), and a **profile** of the FRSKD
  step's top ops (:mod:`~frskd_mm.analysis.profiling`).

``tools/analysis_tools/benchmark.py`` is the command-line front end and
renders the result as a table.
"""
import os
import types
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from ..apis.model import init_model, load_config
from ..engine.hooks import FRSKDHook
from ..tasks import get_task
from ..utils.allocator import tune_cpu_allocator
from .cost import FLOP_NOTE, analyze_model
from .environment import device_name, load_average, source_fingerprint
from .inputs import (as_hw, infer_input_size, preprocess, random_batch,
                     resolve_device)
from .memory import measure_step_memory
from .precision import (add_cpu_autocast, amp_optim_wrapper_cfg, check_amp,
                        set_channels_last)
from .profiling import profile_steps
from .timing import SPREAD, alternate_steps, summarize_times

#: The two models, in the order of every alternation.
NAMES = ('baseline', 'frskd')

STEP = ('forward(mode="loss") + parse_losses + backward + optimizer step '
        'of the config optim_wrapper; data preprocessor run once outside '
        'the timing; FRSKD stop-gradient on (FRSKDHook.before_train), '
        'distillation at full weight')


def build_for_training(cfg: Config,
                       device: torch.device,
                       seed: int = 0,
                       amp: str = 'none'):
    """The model of ``cfg`` (:func:`frskd_mm.apis.init_model`, weights
    initialised from ``seed``) in train mode, and its ``optim_wrapper``
    (with ``amp`` autocast, see :mod:`~frskd_mm.analysis.precision`).

    SyncBN is reverted to BN on every device (one process; the same
    arithmetic). For FRSKD configs :class:`FRSKDHook` switches on the
    stop-gradient of the distillation targets, as before training.

    Returns:
        tuple: ``(model, optim_wrapper)``.
    """
    if 'optim_wrapper' not in cfg:
        raise ValueError('The config has no optim_wrapper; the benchmark '
                         'times the optimizer step of the config.')
    task = get_task(cfg)
    # In the task's scope; the task's builder may set the global one.
    with DefaultScope.overwrite_default_scope(task.scope):
        model = revert_sync_batchnorm(
            init_model(cfg, device=device, seed=seed)).train()
        optim_wrapper = build_optim_wrapper(
            model, amp_optim_wrapper_cfg(cfg.optim_wrapper, amp, device))
    add_cpu_autocast(optim_wrapper, amp, device)
    if task.is_frskd_config(cfg):
        FRSKDHook().before_train(types.SimpleNamespace(model=model))
    return model, optim_wrapper


def run_benchmark(baseline_config: str,
                  frskd_config: str,
                  batch_size: int = 64,
                  input_size: Optional[Sequence[int]] = None,
                  iters: int = 10,
                  warmup: int = 3,
                  repeats: int = 1,
                  device: str = 'auto',
                  threads: Optional[int] = None,
                  seed: int = 0,
                  cfg_options: Optional[dict] = None,
                  amp: str = 'none',
                  channels_last: Optional[bool] = None,
                  profile: int = 0,
                  log=print) -> Dict[str, Any]:
    """Benchmark ``baseline_config`` against ``frskd_config``.

    Args:
        baseline_config (str): Config of the plain model.
        frskd_config (str): Config of the FRSKD model.
        batch_size (int): Images per training step.
        input_size (Sequence[int], optional): (H, W); default from the
            FRSKD config (see :func:`~frskd_mm.analysis.infer_input_size`).
        iters (int): Timed steps per model in each round.
        warmup (int): Untimed steps per model before the first round.
        repeats (int): Rounds of ``iters`` alternating steps; the summary
            pools all rounds and also lists each round's median.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:i'`` or ``'auto'``.
        threads (int, optional): ``torch.set_num_threads``; default torch's.
        seed (int): Seed of the weights and the random batch.
        cfg_options (dict, optional): Overrides merged into both configs.
        amp (str): ``'none'`` (fp32), ``'fp16'`` (CUDA) or ``'bf16'``.
        channels_last (bool, optional): Whole model and input in
            channels-last (True) or NCHW (False); None: as the configs
            build them (FRSKDNeck: its own layers channels-last).
        profile (int): If > 0, profile that many FRSKD steps after the
            timing and add the top ops by self time as ``profile``.
        log (callable): Progress messages (``None`` for silence).

    torch's thread count is restored on return.

    Returns:
        dict: JSON-serialisable results: ``settings``, ``models`` (per
        model ``params``, ``flops``, ``train_step``, ``memory``,
        ``last_losses``), ``ratios`` (FRSKD / baseline), ``checks`` and,
        with ``profile``, ``profile``.
    """
    if batch_size < 1 or iters < 1 or warmup < 0 or repeats < 1:
        raise ValueError('Need batch_size >= 1, iters >= 1, warmup >= 0 and '
                         f'repeats >= 1; got {batch_size}, {iters}, '
                         f'{warmup}, {repeats}.')
    if threads is not None and threads < 1:
        raise ValueError(f'--threads must be >= 1, got {threads}.')
    log = log or (lambda *a, **k: None)
    threads_before = torch.get_num_threads()
    try:
        dev = resolve_device(device)
        check_amp(amp, dev)
        if profile < 0:
            raise ValueError(f'--profile must be >= 0, got {profile}.')
        if threads is not None:
            torch.set_num_threads(threads)
        # As tools/train.py does; both models share the process and malloc.
        malloc_tuned = tune_cpu_allocator()
        load_before = load_average()
        paths = dict(zip(NAMES, (baseline_config, frskd_config)))
        cfgs = {n: load_config(p, cfg_options) for n, p in paths.items()}
        task, size = _task_and_size(cfgs, paths, input_size)
        built = {}
        for n in NAMES:
            log(f'Building {n}: {cfgs[n].filename}')
            built[n] = build_for_training(cfgs[n], dev, seed, amp)
        classes = {n: task.num_classes(built[n][0]) for n in NAMES}
        if classes['baseline'] != classes['frskd']:
            raise ValueError(f'The configs have different num_classes '
                             f'{classes}; compare a baseline with its FRSKD '
                             'twin.')
        raw = random_batch(task, batch_size, size, classes['frskd'], seed)
        data = {}
        for n in NAMES:
            batch = preprocess(built[n][0], raw, seed)
            data[n] = set_channels_last(built[n][0], batch, channels_last)

        models: Dict[str, Dict[str, Any]] = {}
        for n in NAMES:
            log(f'Counting parameters and FLOPs: {n}')
            models[n] = dict(
                config=cfgs[n].filename,
                task=task.name,
                num_classes=classes[n],
                **analyze_model(built[n][0], data[n]['inputs']))
        times, rounds, losses = alternate_steps(built, data, dev, iters,
                                                warmup, repeats, log)
        for n in NAMES:
            stats = summarize_times(times[n])
            models[n]['train_step'] = dict(
                stats,
                times_s=times[n],
                round_medians_s=rounds[n],
                images_per_s=batch_size / stats['median_s'])
            models[n]['memory'] = measure_step_memory(*built[n], data[n], dev)
            models[n]['last_losses'] = losses.get(n, {})
        extra = {}
        if profile:
            log(f'Profiling {profile} FRSKD step(s)')
            extra['profile'] = profile_steps(*built['frskd'], data['frskd'],
                                             dev, profile)
        settings = dict(
            baseline_config=baseline_config,
            frskd_config=frskd_config,
            task=task.name,
            batch_size=batch_size,
            input_size=list(size),
            iters=iters,
            warmup=warmup,
            repeats=repeats,
            seed=seed,
            amp=amp,
            channels_last=channels_last,
            device=str(dev),
            device_name=device_name(dev),
            torch_threads=torch.get_num_threads(),
            cpu_count=os.cpu_count(),
            load_avg_before=load_before,
            load_avg_after=load_average(),
            torch=torch.__version__,
            source=source_fingerprint(),
            malloc_tuned=malloc_tuned,
            order='alternating per step: baseline, frskd, baseline, ...',
            step=STEP,
            timing=SPREAD,
            flops=FLOP_NOTE,
            memory=models['frskd']['memory']['method'])
        return dict(
            settings=settings,
            models=models,
            ratios=_ratios(models, times),
            checks=_checks(models),
            **extra)
    finally:
        torch.set_num_threads(threads_before)


def _task_and_size(cfgs: Dict[str, Config], paths: Dict[str, str],
                   input_size: Optional[Sequence[int]]):
    """The common task of both configs and the input (H, W); with an
    explicit ``input_size`` the configs are made to accept it."""
    task = get_task(cfgs['frskd'])
    other = get_task(cfgs['baseline'])
    if other is not task:
        raise ValueError(
            f'The baseline config is {other.name} but the FRSKD config is '
            f'{task.name}; compare twins of one task.')
    if not task.is_frskd_config(cfgs['frskd']):
        raise ValueError(f'{paths["frskd"]} builds no FRSKD model (expected '
                         f'{task.export_hint}); give the FRSKD config second.')
    if not input_size:
        return task, infer_input_size(cfgs['frskd'])
    size = as_hw(tuple(input_size))
    for cfg in cfgs.values():
        task.set_input_size(cfg, size)
    return task, size


def _ratio(a, b) -> Optional[float]:
    return float(a) / float(b) if b else None


def _ratios(models: Dict[str, Dict[str, Any]],
            times: Dict[str, List[float]]) -> Dict[str, Any]:
    """FRSKD / baseline of the reported numbers."""
    b, f = models['baseline'], models['frskd']
    paired = [tf / tb for tb, tf in zip(times['baseline'], times['frskd'])]
    return dict(
        train_step_median=_ratio(f['train_step']['median_s'],
                                 b['train_step']['median_s']),
        train_step_min=_ratio(f['train_step']['min_s'],
                              b['train_step']['min_s']),
        # Adjacent steps share the machine's momentary load: the median of
        # the per-step ratios resists load that drifts during the run.
        train_step_paired_median=float(np.median(paired)),
        train_step_paired_q25_q75=[
            float(q) for q in np.percentile(paired, [25, 75])
        ],
        params_total=_ratio(f['params']['total'], b['params']['total']),
        params_deployed=_ratio(f['params']['deployed'],
                               b['params']['deployed']),
        flops_deployed=_ratio(f['flops']['deployed'], b['flops']['deployed']),
        flops_train_forward=_ratio(
            f['flops']['student_train'] + f['flops']['self_teacher'],
            b['flops']['student_train'] + b['flops']['self_teacher']),
        memory_step=_ratio(f['memory']['step_mb'], b['memory']['step_mb']),
        memory_peak=_ratio(f['memory']['peak_mb'], b['memory']['peak_mb']),
        self_teacher_over_student_flops=_ratio(f['flops']['self_teacher'],
                                               f['flops']['student_train']),
    )


def _checks(models: Dict[str, Dict[str, Any]]) -> Dict[str, bool]:
    b, f = models['baseline'], models['frskd']
    return dict(
        deployed_flops_equal=f['flops']['deployed'] == b['flops']['deployed'],
        deployed_params_equal=(
            f['params']['deployed'] == b['params']['deployed']),
        student_params_are_deployed=all(
            m['params']['student'] == m['params']['deployed']
            for m in models.values()),
        losses_finite=all(
            np.isfinite(v) for m in models.values()
            for v in m['last_losses'].values()),
    )
