"""Turn an FRSKD model into the plain student that upstream packages load.

Key names make the split a matter of prefixes, which each task's adapter
knows (:mod:`frskd_mm.tasks`): the self-teacher is ``neck.*``; the
distillation modules are ``head.distill.*`` (classification) or
``decode_head.teacher.*`` / ``decode_head.distill.*`` (segmentation); the
segmentation student decoder is ``decode_head.student.*`` and becomes the
plain model's ``decode_head.*``. With self-supervised label augmentation
(SLA) the joint classifiers ``head.joint_fc.*`` and
``head.teacher_joint_fc.*`` are training-only too, and
``SLAImageClassifier`` deploys as MMPretrain's ``ImageClassifier``; SLA-SD
configs (SLA without FRSKD) export the same way. MMDetection's dense heads:
``<head>.teacher.*`` and ``<head>.distill.*`` are training-only and
``<head>.student.*`` becomes the plain ``<head>.*`` (``bbox_head`` or a
two-stage detector's ``rpn_head``).
"""
import copy
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch.nn as nn
from mmengine.config import Config

from ..registry import MODELS
from ..tasks import TaskAdapter, get_task
from ..utils.runner import strip_run_guards
from .model import has_self_teacher, init_model, load_config


@dataclass(frozen=True)
class StudentExport:
    """The plain student of an FRSKD run (:func:`export_student`).

    Attributes:
        config (Config): The student config for a plain upstream install.
        model (nn.Module): The plain student model holding the weights.
        meta (dict): What to save as the checkpoint's ``meta``: the FRSKD
            checkpoint's ``dataset_meta``.
        removed (int): The number of training-only tensors removed.
        needs_frskd (bool): Whether ``config`` still imports frskd_mm (it
            uses modules of ours, e.g. the WideResNetCIFAR backbone).
    """
    config: Config
    model: nn.Module
    meta: Dict
    removed: int
    needs_frskd: bool


def student_config(cfg: Config,
                   task: Optional[TaskAdapter] = None) -> Tuple[Config, bool]:
    """The config of the deployed student for a plain upstream install.

    Classification: the self-teacher neck becomes ``GlobalAveragePooling``
    and the FRSKD head (or SLA-SD's ``SLAClsHead``) a ``LinearClsHead``
    with the same classifier; ``SLAImageClassifier`` becomes
    ``ImageClassifier``.
    Segmentation: the FRSKD neck becomes its inner ``neck`` (or is removed
    without one) and the FRSKD decode head becomes its nested student
    head. Either is exactly what the FRSKD model computes in eval mode.
    ``FRSKDHook`` and frskd_mm's datasets are replaced by their upstream
    counterparts, and the run-time guards that ``tools/train.py``
    adds (in configs it dumps into work directories) are removed.

    Args:
        cfg (Config): The FRSKD training config.
        task (TaskAdapter, optional): The config's task; default
            :func:`frskd_mm.tasks.get_task` of ``cfg``.

    Returns:
        tuple[Config, bool]: The student config, and whether it still needs
        ``frskd_mm`` (it uses modules of ours, e.g. the WideResNetCIFAR
        backbone or the SegBiFPN decoder: then it imports just those).
    """
    task = task or get_task(cfg)
    if not task.is_exportable_config(cfg):
        model = cfg.get('model', None) or {}
        head = model.get(task.head_key, None) or {}
        raise ValueError(f'export_student expects an FRSKD {task.name} config '
                         f'({task.export_hint}), '
                         f"got model.type {model.get('type')!r} and model."
                         f"{task.head_key}.type {head.get('type')!r}.")
    plain = copy.deepcopy(cfg._cfg_dict.to_dict())
    model = task.student_model_config(plain['model'])
    strip_run_guards(plain)  # a config dumped by tools/train.py has them
    plain['custom_hooks'] = [
        hook for hook in plain.get('custom_hooks', [])
        if hook.get('type') != 'FRSKDHook'
    ]
    _replace_dataset_types(plain, task)
    if plain.get('dataset_type') in task.plain_datasets:
        plain['dataset_type'] = task.plain_datasets[plain['dataset_type']]

    modules = _frskd_modules(model)
    needs_frskd = bool(modules)
    if needs_frskd:
        plain['custom_imports'] = dict(
            imports=modules, allow_failed_imports=False)
    else:
        plain.pop('custom_imports', None)
    return Config(plain), needs_frskd


def _frskd_modules(model: dict) -> list:
    """The frskd_mm modules that define the types used in a model config
    (e.g. WideResNetCIFAR, SegBiFPN), sorted: the plain config imports
    only them."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            t = node.get('type')
            upstream = isinstance(t, str) and t.startswith(
                ('mmseg.', 'mmpretrain.', 'mmdet.'))
            if isinstance(t, str) and not upstream:
                cls = MODELS.module_dict.get(t.split('.')[-1])
                if cls is not None:
                    found.add(cls.__module__)
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(model)
    return sorted(found)


def student_state_dict(state_dict: Dict, task: TaskAdapter) -> Dict:
    """Drop the self-teacher and distillation tensors, rename the student's.

    Args:
        state_dict (dict): The FRSKD model's state dict.
        task (TaskAdapter): The config's task, from
            :func:`frskd_mm.tasks.get_task`.

    Returns:
        dict: The state dict of the plain student model.
    """
    return task.student_state_dict(state_dict)


def export_student(config: str,
                   checkpoint: str,
                   cfg_options: Optional[dict] = None) -> StudentExport:
    """The plain student of an FRSKD run, loaded and checked.

    Builds the FRSKD model, loads ``checkpoint`` strictly into it, keeps the
    student's tensors and loads them strictly into the plain student model:
    a split that misses or leaves over a tensor fails here.

    Args:
        config (str): The FRSKD training config.
        checkpoint (str): A checkpoint of that config's model.
        cfg_options (dict, optional): Overrides of the config.

    Returns:
        StudentExport: The student config and model, the checkpoint's
        ``meta``, the number of tensors removed, and whether the student
        config still imports frskd_mm.

    Raises:
        ValueError: If the checkpoint has no self-teacher (a baseline
            checkpoint or an exported student) or the config is not FRSKD.
    """
    cfg = load_config(config, cfg_options)
    task = get_task(cfg)
    plain_cfg, needs_frskd = student_config(cfg, task)
    try:
        model = init_model(cfg, checkpoint)
    except RuntimeError as e:
        if task.is_frskd_config(cfg) and not has_self_teacher(checkpoint):
            raise ValueError(
                f'{checkpoint} has no self-teacher (no neck.layers.* '
                'tensors): it is a baseline checkpoint or an already '
                'exported student, not one of an FRSKD run. Wrong work dir? '
                'Pass the checkpoint that the FRSKD config trained '
                '(work_dirs/<frskd config>/epoch_<N>.pth or iter_<N>.pth).'
            ) from e
        raise
    state = model.state_dict()
    student = task.student_state_dict(state)
    plain = task.build_model(plain_cfg)
    plain.load_state_dict(student, strict=True)
    meta = getattr(model, 'dataset_meta', None)
    return StudentExport(
        config=plain_cfg,
        model=plain,
        meta=dict(dataset_meta=meta or {}),
        removed=len(state) - len(student),
        needs_frskd=needs_frskd)


def _replace_dataset_types(node, task: TaskAdapter) -> None:
    if isinstance(node, dict):
        name = node.get('type')
        if isinstance(name, str) and name in task.plain_datasets:
            for key, value in task.plain_dataset_defaults(name).items():
                node.setdefault(key, value)
            node['type'] = task.plain_datasets[name]
        for value in node.values():
            _replace_dataset_types(value, task)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _replace_dataset_types(value, task)


__all__ = [
    'StudentExport', 'export_student', 'student_config', 'student_state_dict'
]
