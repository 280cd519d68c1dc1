"""What FRSKD costs: parameters, FLOPs, training-step time and memory.

:func:`run_benchmark` builds a baseline model and its FRSKD twin from their
configs (classification, ``default_scope='mmpretrain'``, or segmentation,
``default_scope='mmseg'``) and measures, in one process and on one device:

- **parameters** of the student (backbone + student head), of the
  self-teacher (:class:`~frskd_mm.models.necks.FRSKDNeck` with its
  classifier, and for segmentation the teacher decoder
  :class:`~frskd_mm.models.heads.self_teacher_decoder.SelfTeacherDecoder`),
  of the distillation-only modules (``SelfDistillLoss``, e.g. FitNet
  regressors), of other training-only modules (e.g. MMSeg's auxiliary
  head), and of the deployed model (the parameters of the modules that the
  eval-mode forward actually calls);
- **forward FLOPs per image** (MMEngine's
  :class:`~mmengine.analysis.FlopAnalyzer`): the deployed model is the
  whole model in eval mode (the FRSKD neck passes the features through,
  the FRSKD head pools and classifies like ``GlobalAveragePooling`` +
  ``LinearClsHead``), so it must equal the baseline's exactly; the student
  in training (train mode, self-teacher switched off); the self-teacher in
  train mode on real backbone features;
- **one training step** as MMEngine's ``train_step`` runs it minus the
  data preprocessor (done once, outside the timing): ``forward(mode='loss')``
  with FRSKD's stop-gradient switched on by
  :meth:`FRSKDHook.before_train <frskd_mm.engine.hooks.FRSKDHook>`,
  ``parse_losses``, backward and the optimizer step of the config's
  ``optim_wrapper``; the two models alternate step by step (A B A B ...)
  on the same random batch; median, inter-quartile range and min/max;
- **peak memory** of a training step (see :func:`measure_step_memory`).

:func:`format_table` renders the result; ``tools/analysis_tools/benchmark.py``
is the command-line front end.
"""
import contextlib
import copy
import ctypes
import gc
import glob
import hashlib
import importlib
import os
import platform
import resource
import subprocess
import time
import types
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope

from ..engine.hooks import FRSKDHook
from ..models.heads.self_teacher_decoder import SelfTeacherDecoder
from ..models.losses.self_distill_loss import SelfDistillLoss
from ..models.necks import FRSKDNeck
from .allocator import tune_cpu_allocator
from .task import get_task, setup_task

#: How the spread of the step times is reported.
SPREAD = ('median of the measured steps; spread = inter-quartile range '
          '(25th-75th percentile, numpy linear interpolation) and min/max; '
          'paired ratio = median of FRSKD/baseline over adjacent steps')

#: FLOPs convention of MMEngine's analyzer, recorded in the results.
FLOP_NOTE = (
    'FLOPs per image from mmengine.analysis.FlopAnalyzer (one fused '
    'multiply-add = 1 FLOP; conv/linear/matmul, norm layers, pooling and '
    'upsampling counted, other element-wise ops not; training-only '
    'auxiliary heads not counted). BatchNorm counts 5 '
    'FLOPs/element in train mode and 2 in eval mode, so the train-mode '
    'student is slightly above the deployed model.')

#: Top-level children that train but never run at inference besides the
#: self-teacher (MMSeg's auxiliary heads).
TRAINING_ONLY_CHILDREN = ('auxiliary_head', )

# Pipeline transforms whose argument fixes the size of the training input.
_SIZE_TRANSFORMS = {
    'RandomCrop': 'crop_size',
    'RandomResizedCrop': 'scale',
    'CenterCrop': 'crop_size',
    'Resize': 'scale',
    'RandomResize': 'scale',
}


# --------------------------------------------------------------------------
# Configs, models and data
# --------------------------------------------------------------------------
def resolve_device(device: str = 'auto') -> torch.device:
    """``'auto'`` -> CUDA if available, else CPU; ``'cpu'``/``'cuda[:i]'``.

    Raises:
        RuntimeError: If CUDA is asked for but not available.
    """
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    dev = torch.device(device)
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(
            f'--device {device} asked for CUDA, but torch.cuda.is_available()'
            ' is False here; use --device cpu or --device auto.')
    if dev.type not in ('cpu', 'cuda'):
        raise ValueError(f'Unsupported device {device!r}; use cpu, cuda or '
                         'auto.')
    return dev


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Load ``path`` (its ``custom_imports`` register frskd_mm) and register
    the modules of its task (MMPretrain or MMSegmentation)."""
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    setup_task(cfg)
    return cfg


def infer_input_size(cfg: Config) -> Tuple[int, int]:
    """The (H, W) of one training input, read from the config.

    Segmentation: ``model.data_preprocessor.size`` (the padded crop), else
    ``crop_size``. Both tasks: the last size-fixing transform of the
    training pipeline (``RandomCrop``/``CenterCrop`` ``crop_size``,
    ``RandomResizedCrop``/``Resize`` ``scale``). Sequences are read as
    (H, W), as MMSeg's ``crop_size`` and MMPretrain's ``crop_size`` are.

    Raises:
        ValueError: If no size is found; pass ``--input-size H W`` then.
    """
    if get_task(cfg) == 'segmentation':
        size = cfg.get('model', {}).get('data_preprocessor', {}).get('size')
        if size is None:
            size = cfg.get('crop_size')
        if size is not None:
            return _as_hw(size)
    size = None
    for transform in _train_pipeline(cfg):
        key = _SIZE_TRANSFORMS.get(str(transform.get('type', '')))
        if key is not None and transform.get(key) is not None:
            size = transform[key]
    if size is None:
        raise ValueError(
            'Cannot tell the input size from the config (no '
            'data_preprocessor.size/crop_size and no RandomCrop, '
            'RandomResizedCrop, CenterCrop or Resize in '
            'train_dataloader.dataset.pipeline); pass --input-size H W.')
    return _as_hw(size)


def set_pad_size(cfg: Config, size: Tuple[int, int]) -> None:
    """Make MMSeg's data preprocessor pad to ``size`` instead of the
    config's crop (it pads every input to ``data_preprocessor.size``)."""
    for holder in (cfg.get('model', {}), cfg):
        pre = holder.get('data_preprocessor') if holder is not None else None
        if pre is not None and pre.get('size') is not None:
            pre['size'] = tuple(size)


def _train_pipeline(cfg: Config) -> List[dict]:
    dataset = cfg.get('train_dataloader', {}).get('dataset', {})
    # Wrappers (RepeatDataset, ConcatDataset, ClassBalancedDataset, ...).
    while isinstance(dataset, dict) and 'pipeline' not in dataset:
        if 'dataset' in dataset:
            dataset = dataset['dataset']
        elif dataset.get('datasets'):
            dataset = dataset['datasets'][0]
        else:
            break
    pipeline = dataset.get('pipeline', []) if isinstance(dataset,
                                                         dict) else []
    if not pipeline:
        pipeline = cfg.get('train_pipeline', [])
    return [t for t in pipeline if isinstance(t, dict)]


def _as_hw(size) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    size = tuple(int(s) for s in size)
    if len(size) != 2:
        raise ValueError(f'Expected an int or (H, W) input size, got {size}.')
    return size


def _registry(scope: str):
    return importlib.import_module(f'{scope}.registry')


def build_model(cfg: Config, device: torch.device, seed: int = 0):
    """Build ``cfg.model`` (with the top-level ``data_preprocessor`` merged
    in, as MMEngine's Runner does) and its ``optim_wrapper``.

    SyncBN is reverted to BN (one process; the same arithmetic). For FRSKD
    models :class:`FRSKDHook` switches on the stop-gradient of the
    distillation targets, as before training.

    Returns:
        tuple: ``(model, optim_wrapper)``, the model on ``device`` in train
        mode.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper

    scope = cfg.default_scope
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor',
                             copy.deepcopy(cfg.data_preprocessor))
    with DefaultScope.overwrite_default_scope(scope):
        torch.manual_seed(seed)
        model = _registry(scope).MODELS.build(model_cfg)
        if hasattr(model, 'init_weights'):
            with _quiet_mmengine_logger():
                model.init_weights()
        model = revert_sync_batchnorm(model).to(device)
        model.train()
        if 'optim_wrapper' not in cfg:
            raise ValueError('The config has no optim_wrapper; the benchmark '
                             'times the optimizer step of the config.')
        optim_wrapper = build_optim_wrapper(model,
                                            copy.deepcopy(cfg.optim_wrapper))
    if is_frskd(model):
        FRSKDHook().before_train(types.SimpleNamespace(model=model))
    return model, optim_wrapper


@contextlib.contextmanager
def _quiet_mmengine_logger():
    """Silence init_weights' per-parameter INFO lines."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def is_frskd(model: nn.Module) -> bool:
    """Whether ``model`` has FRSKD's distillation (an FRSKD head)."""
    return any(isinstance(m, SelfDistillLoss) for m in model.modules())


def num_classes_of(model: nn.Module, task: str) -> int:
    """Classes of the student head (``head`` or ``decode_head``)."""
    head = model.head if task == 'classification' else model.decode_head
    return int(head.num_classes)


def make_raw_batch(task: str, batch_size: int, input_size: Tuple[int, int],
                   num_classes: int, seed: int = 0) -> dict:
    """A random training batch as a dataloader gives it (before the model's
    data preprocessor): uint8 images and labels in ``[0, num_classes)``.

    Classification: ``inputs`` (N, 3, H, W) uint8 and ``DataSample`` with
    ``gt_label``. Segmentation: ``inputs`` list of (3, H, W) uint8 and
    ``SegDataSample`` with ``gt_sem_seg`` (1, H, W).
    """
    g = torch.Generator().manual_seed(seed)
    h, w = input_size
    images = torch.randint(0, 256, (batch_size, 3, h, w), generator=g,
                           dtype=torch.uint8)
    if task == 'classification':
        from mmpretrain.structures import DataSample
        labels = torch.randint(0, num_classes, (batch_size, ), generator=g)
        samples = [DataSample().set_gt_label(int(i)) for i in labels]
        return dict(inputs=images, data_samples=samples)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    labels = torch.randint(0, num_classes, (batch_size, 1, h, w),
                           generator=g)
    samples = []
    for label in labels:
        sample = SegDataSample(metainfo=dict(img_shape=(h, w),
                                             ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=list(images), data_samples=samples)


def preprocess(model: nn.Module, raw: dict, seed: int = 0) -> dict:
    """Run the model's data preprocessor once in training mode (batch
    augmentations included), on a copy of ``raw``."""
    torch.manual_seed(seed)
    with torch.no_grad():
        return model.data_preprocessor(copy.deepcopy(raw), True)


# --------------------------------------------------------------------------
# Parameters and FLOPs
# --------------------------------------------------------------------------
def _self_teacher_modules(model: nn.Module) -> Dict[str, nn.Module]:
    return {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, (FRSKDNeck, SelfTeacherDecoder))
    }


def _distill_modules(model: nn.Module) -> Dict[str, nn.Module]:
    return {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, SelfDistillLoss)
    }


def _under(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def _numel(params) -> int:
    return int(sum(p.numel() for p in params))


class _SelfTeacher(nn.Module):
    """The self-teacher alone: FRSKD neck (+ teacher decoder), all outputs.

    Every output is returned so the trace keeps every op.
    """

    def __init__(self, neck: nn.Module,
                 decoder: Optional[nn.Module] = None,
                 decoder_index: int = 0) -> None:
        super().__init__()
        self.neck = neck
        self.teacher = decoder
        self.decoder_index = decoder_index

    def forward(self, *feats: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        out = self.neck(tuple(feats))
        outs = list(out.refined)
        if out.teacher_logits is not None:
            outs.append(out.teacher_logits)
        if self.teacher is not None:
            outs.append(self.teacher(out.refined[self.decoder_index]))
        return tuple(outs)


def _flops(module: nn.Module, inputs: Tuple, per: int) -> Dict[str, Any]:
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(module, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    with torch.no_grad():
        total = analyzer.total()
    return dict(
        total=_per_image(total, per),
        by_module={
            k: _per_image(v, per)
            for k, v in analyzer.by_module().items() if k and '.' not in k
        },
        uncounted_ops=dict(analyzer.unsupported_ops()))


def _per_image(flops: Union[int, float], n: int) -> Union[int, float]:
    return flops // n if flops % n == 0 else flops / n


@contextlib.contextmanager
def _modes(model: nn.Module, train: bool, off: Sequence[nn.Module] = ()):
    """Temporarily set train/eval mode, with ``off`` modules in eval."""
    saved = {m: m.training for m in model.modules()}
    model.train(train)
    for m in off:
        m.eval()
    try:
        yield
    finally:
        for m, mode in saved.items():
            m.training = mode


def analyze_model(model: nn.Module, inputs: torch.Tensor,
                  flop_batch: int = 2) -> Dict[str, Any]:
    """Parameters and per-image forward FLOPs of the model's parts.

    Args:
        model (nn.Module): A classifier or segmentor, baseline or FRSKD.
        inputs (Tensor): Preprocessed inputs (N, 3, H, W); the first
            ``flop_batch`` images are traced (2 by default, so that train-mode
            BN also works after global pooling), and FLOPs are divided by it.
        flop_batch (int): Images per trace.

    Returns:
        dict: ``params`` and ``flops``. Parameters: ``self_teacher`` (under
        every ``FRSKDNeck`` and ``SelfTeacherDecoder``), ``distill_only``
        (under ``SelfDistillLoss``, e.g. FitNet regressors),
        ``other_training_only`` (``auxiliary_head``), ``student`` (the
        rest: backbone and student head), ``deployed`` (owned by the
        modules that the eval-mode forward calls; equals ``student`` when
        the roles are right) and ``total``. FLOPs per image: ``deployed``
        (whole model, eval mode), ``student_train`` (whole model in train
        mode with the self-teacher switched off), ``self_teacher`` (FRSKD
        neck plus teacher decoder, train mode, on the backbone's features),
        per-module totals and the ops the analyzer does not count (op name
        -> number of calls).
    """
    x = inputs[:flop_batch]
    if x.shape[0] < flop_batch:
        x = x.repeat(-(-flop_batch // x.shape[0]), 1, 1, 1)[:flop_batch]
    teacher = _self_teacher_modules(model)
    distill = _distill_modules(model)
    teacher_top = [n for n in teacher
                   if not _under(n, [t for t in teacher if t != n])]

    # Deployed: the whole model in eval mode; record which modules run.
    called = set()
    handles = [
        m.register_forward_pre_hook(
            lambda mod, args, name=name: called.add(name))
        for name, m in model.named_modules()
    ]
    try:
        with _modes(model, train=False):
            deployed = _flops(model, (x, ), flop_batch)
    finally:
        for h in handles:
            h.remove()

    # The student in training: train mode with the self-teacher switched
    # off (the FRSKD neck passes the features through in eval mode).
    with _modes(model, train=True, off=list(teacher.values())):
        student = _flops(model, (x, ), flop_batch)

    # The self-teacher in train mode, on real backbone features.
    self_teacher = None
    necks = [m for m in teacher.values() if isinstance(m, FRSKDNeck)]
    if necks:
        decoders = [m for m in teacher.values()
                    if isinstance(m, SelfTeacherDecoder)]
        decode_head = getattr(model, 'decode_head', None)
        index = getattr(decode_head, 'teacher_in_index', 0)
        with _modes(model, train=False), torch.no_grad():
            feats = model.backbone(x)
        wrapper = copy.deepcopy(
            _SelfTeacher(necks[0], decoders[0] if decoders else None,
                         index)).train()
        self_teacher = _flops(wrapper, tuple(feats), flop_batch)

    # Parameters, by role.
    named = dict(model.named_parameters())
    total = _numel(named.values())
    t_params = _numel(p for n, p in named.items()
                      if _under(n.rsplit('.', 1)[0], list(teacher)))
    d_params = _numel(p for n, p in named.items()
                      if _under(n.rsplit('.', 1)[0], list(distill)))
    other = _numel(p for n, p in named.items()
                   if _under(n, TRAINING_ONLY_CHILDREN))
    dep_params = _numel(p for n, p in named.items()
                        if n.rsplit('.', 1)[0] in called)
    params = dict(
        total=total,
        student=total - t_params - d_params - other,
        self_teacher=t_params,
        distill_only=d_params,
        other_training_only=other,
        deployed=dep_params)
    flops = dict(
        deployed=deployed['total'],
        student_train=student['total'],
        self_teacher=self_teacher['total'] if self_teacher else 0,
        deployed_by_module=deployed['by_module'],
        self_teacher_by_module=(self_teacher['by_module']
                                if self_teacher else {}),
        uncounted_ops=dict(
            deployed=deployed['uncounted_ops'],
            self_teacher=(self_teacher['uncounted_ops']
                          if self_teacher else {})),
        self_teacher_modules=teacher_top)
    return dict(params=params, flops=flops)


# --------------------------------------------------------------------------
# Training step, time and memory
# --------------------------------------------------------------------------
def train_step(model: nn.Module, optim_wrapper, data: dict) -> Dict:
    """One training step on preprocessed ``data``: MMEngine's
    ``BaseModel.train_step`` without the data preprocessor."""
    with optim_wrapper.optim_context(model):
        losses = model(data['inputs'], data['data_samples'], mode='loss')
    loss, log_vars = model.parse_losses(losses)
    optim_wrapper.update_params(loss)
    return log_vars


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed_step(model, optim_wrapper, data, device) -> Tuple[float, Dict]:
    """Wall-clock seconds of one :func:`train_step` (device synchronised;
    Python's garbage collector is run before and paused during it)."""
    gc.collect()
    _sync(device)
    gc.disable()
    try:
        start = time.perf_counter()
        log_vars = train_step(model, optim_wrapper, data)
        _sync(device)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed, log_vars


def _proc_status_kb(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _malloc_trim() -> None:
    """Return freed heap memory to the OS (glibc), so RSS ~ live memory."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _maxrss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return kb / 1024**2 if platform.system() == 'Darwin' else kb / 1024


def measure_step_memory(model, optim_wrapper, data,
                        device: torch.device) -> Dict[str, Any]:
    """Peak memory of one training step (not timed).

    - CUDA: ``torch.cuda.max_memory_allocated`` over the step (peak of live
      tensors: weights, optimizer state, activations, gradients), and its
      growth over ``memory_allocated`` before the step.
    - CPU (Linux): the process's resident memory. Freed heap memory is
      first returned to the OS (``malloc_trim``), the kernel's peak-RSS mark
      (VmHWM, the value ``getrusage`` reports as ``ru_maxrss``) is reset to
      the current RSS through ``/proc/self/clear_refs``, and after the step
      VmHWM is read: ``step_mb`` = peak RSS during the step minus RSS before
      it (activations, gradients and temporaries of the step; weights and
      optimizer state already exist), ``peak_mb`` = the process's whole
      peak RSS during the step (includes Python, libraries and both models).
    - CPU elsewhere: growth of ``ru_maxrss`` over the step, a lower bound
      that is 0 once an earlier step went higher.
    """
    gc.collect()
    if device.type == 'cuda':
        _sync(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        train_step(model, optim_wrapper, data)
        _sync(device)
        peak = torch.cuda.max_memory_allocated(device)
        return dict(
            method='cuda max_memory_allocated over the step',
            peak_mb=peak / 1024**2,
            step_mb=(peak - before) / 1024**2)
    _malloc_trim()
    rss = _proc_status_kb('VmRSS')
    if rss is not None and _reset_peak_rss():
        train_step(model, optim_wrapper, data)
        hwm = _proc_status_kb('VmHWM')
        return dict(
            method='cpu peak RSS during the step (VmHWM reset via '
            '/proc/self/clear_refs after malloc_trim) minus RSS before it',
            peak_mb=hwm / 1024,
            step_mb=(hwm - rss) / 1024)
    before = _maxrss_mb()
    train_step(model, optim_wrapper, data)
    after = _maxrss_mb()
    return dict(
        method='cpu ru_maxrss growth over the step (lower bound)',
        peak_mb=after,
        step_mb=after - before)


def summarize_times(times: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles, IQR, min and max of step times (seconds)."""
    t = np.asarray(times, dtype=float)
    if t.size == 0:
        raise ValueError('No measured steps; use --iters >= 1.')
    q25, med, q75 = np.percentile(t, [25, 50, 75])
    return dict(median_s=float(med), q25_s=float(q25), q75_s=float(q75),
                iqr_s=float(q75 - q25), min_s=float(t.min()),
                max_s=float(t.max()), mean_s=float(t.mean()), n=int(t.size))


def _scalar(value) -> float:
    if torch.is_tensor(value):
        return float(value.detach().float().mean())
    return float(value)


def _ratio(a, b) -> Optional[float]:
    return float(a) / float(b) if b else None


def source_fingerprint() -> Dict[str, Any]:
    """Which frskd_mm code was measured: the git commit, the files of
    ``frskd_mm/`` that differ from it, and a SHA-1 of ``frskd_mm/models``
    (tells apart before/after figures of an optimisation)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha1()
    models = os.path.join(package, 'models')
    for path in sorted(glob.glob(os.path.join(models, '**', '*.py'),
                                 recursive=True)):
        digest.update(os.path.relpath(path, package).encode())
        with open(path, 'rb') as f:
            digest.update(f.read())
    info: Dict[str, Any] = dict(models_sha1=digest.hexdigest())
    root = os.path.dirname(package)
    try:
        info['git_commit'] = subprocess.run(
            ['git', 'rev-parse', 'HEAD'], cwd=root, capture_output=True,
            text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(
            ['git', 'status', '--porcelain', '--', 'frskd_mm'], cwd=root,
            capture_output=True, text=True, timeout=10, check=True).stdout
        info['frskd_mm_changes'] = [
            line.strip() for line in status.splitlines() if line.strip()
        ]
    except (OSError, subprocess.SubprocessError):
        info['git_commit'] = None
    return info


def _loadavg() -> Optional[List[float]]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------
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
                  log=print) -> Dict[str, Any]:
    """Benchmark ``baseline_config`` against ``frskd_config``.

    Args:
        baseline_config (str): Config of the plain model.
        frskd_config (str): Config of the FRSKD model.
        batch_size (int): Images per training step.
        input_size (Sequence[int], optional): (H, W); default from the
            FRSKD config (see :func:`infer_input_size`).
        iters (int): Timed steps per model in each round.
        warmup (int): Untimed steps per model before the first round.
        repeats (int): Rounds of ``iters`` alternating steps; the summary
            pools all rounds and also lists each round's median.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:i'`` or ``'auto'``.
        threads (int, optional): ``torch.set_num_threads``; default torch's.
        seed (int): Seed of the weights and the random batch.
        cfg_options (dict, optional): Overrides merged into both configs.
        log (callable): Progress messages (``None`` for silence).

    torch's thread count is restored on return.

    Returns:
        dict: JSON-serialisable results: ``settings``, ``models`` (per
        model ``params``, ``flops``, ``train_step``, ``memory``),
        ``ratios`` (FRSKD / baseline) and ``checks``.
    """
    threads_before = torch.get_num_threads()
    try:
        return _run_benchmark(baseline_config, frskd_config, batch_size,
                              input_size, iters, warmup, repeats, device,
                              threads, seed, cfg_options, log)
    finally:
        torch.set_num_threads(threads_before)


def _run_benchmark(baseline_config, frskd_config, batch_size, input_size,
                   iters, warmup, repeats, device, threads, seed, cfg_options,
                   log) -> Dict[str, Any]:
    log = log or (lambda *a, **k: None)
    if batch_size < 1 or iters < 1 or warmup < 0 or repeats < 1:
        raise ValueError('Need batch_size >= 1, iters >= 1, warmup >= 0 and '
                         f'repeats >= 1; got {batch_size}, {iters}, '
                         f'{warmup}, {repeats}.')
    dev = resolve_device(device)
    if threads is not None:
        if threads < 1:
            raise ValueError(f'--threads must be >= 1, got {threads}.')
        torch.set_num_threads(threads)
    # As tools/train.py does; both models share the process and its malloc.
    malloc_tuned = tune_cpu_allocator()
    load_before = _loadavg()

    names = ('baseline', 'frskd')
    cfgs = {n: load_config(p, cfg_options)
            for n, p in zip(names, (baseline_config, frskd_config))}
    tasks = {n: get_task(c) for n, c in cfgs.items()}
    if tasks['baseline'] != tasks['frskd']:
        raise ValueError(
            f'The baseline config is {tasks["baseline"]} but the FRSKD '
            f'config is {tasks["frskd"]}; compare twins of one task.')
    task = tasks['frskd']
    size = tuple(input_size) if input_size else infer_input_size(
        cfgs['frskd'])
    size = _as_hw(size)
    if input_size and task == 'segmentation':
        for cfg in cfgs.values():
            set_pad_size(cfg, size)

    built = {}
    for n in names:
        log(f'Building {n}: {cfgs[n].filename}')
        built[n] = build_model(cfgs[n], dev, seed)
    if not is_frskd(built['frskd'][0]):
        raise ValueError(
            f'{frskd_config} builds no FRSKD model (no FRSKD head with its '
            'distillation); give the FRSKD config second.')
    classes = {n: num_classes_of(built[n][0], task) for n in names}
    if classes['baseline'] != classes['frskd']:
        raise ValueError(f'The configs have different num_classes {classes};'
                         ' compare a baseline with its FRSKD twin.')

    raw = make_raw_batch(task, batch_size, size, classes['frskd'], seed)
    data = {n: preprocess(built[n][0], raw, seed) for n in names}

    results: Dict[str, Dict[str, Any]] = {}
    for n in names:
        log(f'Counting parameters and FLOPs: {n}')
        results[n] = dict(config=cfgs[n].filename, task=task,
                          num_classes=classes[n],
                          **analyze_model(built[n][0], data[n]['inputs']))

    # Training steps, alternating A B A B ... on the same batch.
    times: Dict[str, List[float]] = {n: [] for n in names}
    rounds: Dict[str, List[float]] = {n: [] for n in names}
    losses: Dict[str, Dict[str, float]] = {}
    log(f'Warm-up: {warmup} step(s) per model')
    for i in range(warmup):
        for n in names:
            elapsed, _ = timed_step(*built[n], data[n], dev)
            log(f'  warm-up {i + 1}/{warmup} {n}: {elapsed * 1e3:.0f} ms')
    for r in range(repeats):
        log(f'Round {r + 1}/{repeats}: {iters} timed step(s) per model, '
            'alternating')
        round_times: Dict[str, List[float]] = {n: [] for n in names}
        for i in range(iters):
            for n in names:
                elapsed, log_vars = timed_step(*built[n], data[n], dev)
                round_times[n].append(elapsed)
                log(f'  step {i + 1}/{iters} {n}: {elapsed * 1e3:.0f} ms')
                losses[n] = {k: _scalar(v) for k, v in log_vars.items()}
        for n in names:
            times[n] += round_times[n]
            rounds[n].append(float(np.median(round_times[n])))
    memory = {}
    for n in names:
        memory[n] = measure_step_memory(*built[n], data[n], dev)

    for n in names:
        stats = summarize_times(times[n])
        results[n]['train_step'] = dict(
            stats, times_s=times[n], round_medians_s=rounds[n],
            images_per_s=batch_size / stats['median_s'])
        results[n]['memory'] = memory[n]
        results[n]['last_losses'] = losses.get(n, {})

    b, f = results['baseline'], results['frskd']
    paired = [tf / tb for tb, tf in zip(times['baseline'], times['frskd'])]
    ratios = dict(
        train_step_median=_ratio(f['train_step']['median_s'],
                                 b['train_step']['median_s']),
        train_step_min=_ratio(f['train_step']['min_s'],
                              b['train_step']['min_s']),
        # Adjacent steps share the machine's momentary load: the median of
        # the per-step ratios resists load that drifts during the run.
        train_step_paired_median=float(np.median(paired)),
        train_step_paired_q25_q75=[
            float(q) for q in np.percentile(paired, [25, 75])],
        params_total=_ratio(f['params']['total'], b['params']['total']),
        params_deployed=_ratio(f['params']['deployed'],
                               b['params']['deployed']),
        flops_deployed=_ratio(f['flops']['deployed'],
                              b['flops']['deployed']),
        flops_train_forward=_ratio(
            f['flops']['student_train'] + f['flops']['self_teacher'],
            b['flops']['student_train'] + b['flops']['self_teacher']),
        memory_step=_ratio(f['memory']['step_mb'], b['memory']['step_mb']),
        memory_peak=_ratio(f['memory']['peak_mb'], b['memory']['peak_mb']),
        self_teacher_over_student_flops=_ratio(f['flops']['self_teacher'],
                                               f['flops']['student_train']),
    )
    checks = dict(
        deployed_flops_equal=f['flops']['deployed'] == b['flops']['deployed'],
        deployed_params_equal=(f['params']['deployed'] ==
                               b['params']['deployed']),
        student_params_are_deployed=all(
            results[n]['params']['student'] == results[n]['params']['deployed']
            for n in names),
        losses_finite=all(
            np.isfinite(v) for n in names for v in losses[n].values()),
    )
    settings = dict(
        baseline_config=baseline_config, frskd_config=frskd_config,
        task=task, batch_size=batch_size, input_size=list(size),
        iters=iters, warmup=warmup, repeats=repeats, seed=seed,
        device=str(dev), device_name=(torch.cuda.get_device_name(dev)
                                      if dev.type == 'cuda' else
                                      platform.processor() or 'cpu'),
        torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
        load_avg_before=load_before, load_avg_after=_loadavg(),
        torch=torch.__version__, source=source_fingerprint(),
        malloc_tuned=malloc_tuned,
        order='alternating per step: baseline, frskd, baseline, ...',
        step=('forward(mode="loss") + parse_losses + backward + optimizer '
              'step of the config optim_wrapper; data preprocessor run once '
              'outside the timing; FRSKD stop-gradient on '
              '(FRSKDHook.before_train), distillation at full weight'),
        timing=SPREAD, flops=FLOP_NOTE,
        memory=memory['frskd']['method'])
    return dict(settings=settings, models=results, ratios=ratios,
                checks=checks)


# --------------------------------------------------------------------------
# Table
# --------------------------------------------------------------------------
def _fmt(value, scale: float = 1.0, digits: int = 2) -> str:
    if value is None:
        return '-'
    return f'{value / scale:,.{digits}f}'


def _busy(settings: Dict[str, Any]) -> bool:
    loads = [load[0] for load in (settings.get('load_avg_before'),
                                  settings.get('load_avg_after')) if load]
    cpus = settings.get('cpu_count') or 1
    return settings.get('device', 'cpu') == 'cpu' and any(
        load > cpus for load in loads)


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
        row('  self-teacher', b['params']['self_teacher'],
            f['params']['self_teacher'], 1e6, 3, ratio=False),
        row('  distillation-only', b['params']['distill_only'],
            f['params']['distill_only'], 1e6, 3, ratio=False),
        row('  other training-only', b['params']['other_training_only'],
            f['params']['other_training_only'], 1e6, 3, ratio=False),
        row('  deployed (run in eval)', b['params']['deployed'],
            f['params']['deployed'], 1e6, 3),
        row('  trained in total', b['params']['total'], f['params']['total'],
            1e6, 3),
        ('Forward GFLOPs / image', '', '', ''),
        row('  student, train mode', b['flops']['student_train'],
            f['flops']['student_train'], 1e9, 4),
        row('  self-teacher, train mode', b['flops']['self_teacher'],
            f['flops']['self_teacher'], 1e9, 4, ratio=False),
        row('  training forward (sum)',
            b['flops']['student_train'] + b['flops']['self_teacher'],
            f['flops']['student_train'] + f['flops']['self_teacher'], 1e9, 4),
        row('  deployed, eval mode', b['flops']['deployed'],
            f['flops']['deployed'], 1e9, 4),
        (f'Train step (ms), batch {s["batch_size"]}', '', '', ''),
        row('  median', tb['median_s'], tf['median_s'], 1e-3, 1),
        row('  IQR (q75 - q25)', tb['iqr_s'], tf['iqr_s'], 1e-3, 1,
            ratio=False),
        row('  min', tb['min_s'], tf['min_s'], 1e-3, 1),
        row('  max', tb['max_s'], tf['max_s'], 1e-3, 1),
        row('  images / s (median)', tb['images_per_s'], tf['images_per_s'],
            1, 1),
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
        f'{s["iters"]}x{s["repeats"]} timed steps per model, alternating'
        + (', glibc malloc thresholds raised' if s.get('malloc_tuned')
           else ''),
        f'  baseline: {s["baseline_config"]}',
        f'  FRSKD:    {s["frskd_config"]}',
        f'  code: commit {str(s["source"].get("git_commit"))[:10]}, '
        f'frskd_mm/models sha1 {s["source"]["models_sha1"][:10]}, '
        f'{len(s["source"].get("frskd_mm_changes", []))} uncommitted '
        'change(s) in frskd_mm/',
        f'  load average before/after: {s["load_avg_before"]} / '
        f'{s["load_avg_after"]} on {s["cpu_count"]} CPUs'
        + (' (busy machine: timings are inflated and noisy)'
           if _busy(s) else ''), line,
        '  '.join(h.ljust(w) if i == 0 else h.rjust(w)
                  for i, (h, w) in enumerate(zip(header, widths))), line
    ]
    for rw in rows:
        out.append('  '.join(
            str(v).ljust(w) if i == 0 else str(v).rjust(w)
            for i, (v, w) in enumerate(zip(rw, widths))))
    out += [
        line,
        'self-teacher / student FLOPs (train mode): '
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
    return '\n'.join(out)
