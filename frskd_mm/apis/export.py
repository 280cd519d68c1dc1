"""Turn an FRSKD model into the plain student that upstream packages load.

Key names make the split a matter of prefixes: the self-teacher is
``neck.*``; the distillation modules are ``head.distill.*`` (classification)
or ``decode_head.teacher.*`` / ``decode_head.distill.*`` (segmentation); the
segmentation student decoder is ``decode_head.student.*`` and becomes the
plain model's ``decode_head.*``.
"""
import copy
from typing import Dict, Tuple

from mmengine.config import Config

from ..utils.runner import strip_run_guards
from ..utils.task import get_task

# Per task: the prefixes dropped, and the prefix renamed for the student.
TRAINING_ONLY_PREFIXES = {
    'classification': ('neck.', 'head.distill.'),
    'segmentation': ('neck.', 'decode_head.teacher.', 'decode_head.distill.'),
}
STUDENT_RENAMES = {
    'classification': {},
    'segmentation': {'decode_head.student.': 'decode_head.'},
}
# frskd_mm datasets and the upstream classes they specialise.
PLAIN_DATASETS = {
    'LocalCIFAR10': 'CIFAR10',
    'LocalCIFAR100': 'CIFAR100',
    'ImageFolder': 'CustomDataset',
    'CheckedPascalVOCDataset': 'PascalVOCDataset',
    'DigitCanvasDataset': 'BaseSegDataset',
}


def training_state_dict(checkpoint, source: str = 'The checkpoint') -> Dict:
    """The FRSKD model's state dict from a loaded training checkpoint.

    Accepts a Runner checkpoint (``state_dict`` inside) or a bare state
    dict, with or without the ``module.`` prefix of DDP-wrapped models
    (stripped as MMEngine's ``load_checkpoint`` does).

    Args:
        checkpoint: What :func:`frskd_mm.utils.load_checkpoint_file`
            returned.
        source (str): The checkpoint's path, for messages.

    Raises:
        ValueError: If it holds no self-teacher (``neck.*``): a baseline
            checkpoint, an exported student, or another run's.
    """
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else checkpoint
    if not isinstance(state, dict) or not state:
        raise ValueError(f'{source} holds no state dict.')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    if not any(k.startswith('neck.') for k in state):
        raise ValueError(
            f'{source} has no self-teacher (no neck.* tensors): it is a '
            'baseline checkpoint or an already exported student, not one '
            'of an FRSKD run. Wrong work dir? Pass the checkpoint '
            'that the FRSKD config trained (work_dirs/<frskd config>/'
            'epoch_<N>.pth or iter_<N>.pth).')
    return state


def student_state_dict(state_dict: Dict,
                       task: str = 'classification') -> Dict:
    """Drop the self-teacher and distillation tensors, rename the student's.

    Args:
        state_dict (dict): The FRSKD model's state dict.
        task (str): ``'classification'`` or ``'segmentation'``.

    Returns:
        dict: The state dict of the plain student model.
    """
    dropped = TRAINING_ONLY_PREFIXES[task]
    student = {}
    for key, value in state_dict.items():
        if key.startswith(dropped):
            continue
        for old, new in STUDENT_RENAMES[task].items():
            if key.startswith(old):
                key = new + key[len(old):]
        student[key] = value
    return student


def student_config(cfg: Config) -> Tuple[Config, bool]:
    """The config of the deployed student for a plain upstream install.

    Classification: the self-teacher neck becomes ``GlobalAveragePooling``
    and the FRSKD head a ``LinearClsHead`` with the same classifier.
    Segmentation: the neck is removed and the FRSKD decode head becomes its
    nested student head. Either is exactly what the FRSKD model computes in
    eval mode. ``FRSKDHook`` and frskd_mm's datasets are replaced by their
    upstream counterparts, and the run-time guards that ``tools/train.py``
    adds (in configs it dumps into work directories) are removed.

    Args:
        cfg (Config): The FRSKD training config.

    Returns:
        tuple[Config, bool]: The student config, and whether it still needs
        ``frskd_mm`` (its backbone is one of ours, e.g. WideResNetCIFAR).
    """
    task = get_task(cfg)
    plain = copy.deepcopy(cfg._cfg_dict.to_dict())
    model = plain['model']
    if task == 'classification':
        head = model.get('head', {})
        if head.get('type') != 'FRSKDClsHead':
            raise ValueError(
                'export_student expects an FRSKD classification config '
                "(model.head.type == 'FRSKDClsHead'), got "
                f"{head.get('type')!r}.")
        model['neck'] = dict(type='GlobalAveragePooling')
        model['head'] = dict(
            type='LinearClsHead',
            num_classes=head['num_classes'],
            in_channels=head['in_channels'],
            loss=head.get('loss',
                          dict(type='CrossEntropyLoss', loss_weight=1.0)),
            topk=head.get('topk', (1, )))
    else:
        head = model.get('decode_head', {})
        if head.get('type') != 'FRSKDSegHead':
            raise ValueError(
                'export_student expects an FRSKD segmentation config '
                "(model.decode_head.type == 'FRSKDSegHead'), got "
                f"{head.get('type')!r}.")
        model.pop('neck', None)
        model['decode_head'] = head['student']
    strip_run_guards(plain)  # a config dumped by tools/train.py has them
    plain['custom_hooks'] = [
        hook for hook in plain.get('custom_hooks', [])
        if hook.get('type') != 'FRSKDHook'
    ]
    _replace_dataset_types(plain)
    if plain.get('dataset_type') in PLAIN_DATASETS:
        plain['dataset_type'] = PLAIN_DATASETS[plain['dataset_type']]

    needs_frskd = _is_frskd_module(model['backbone']['type'], task)
    if needs_frskd:
        plain['custom_imports'] = dict(
            imports=['frskd_mm.models.backbones'], allow_failed_imports=False)
    else:
        plain.pop('custom_imports', None)
    return Config(plain), needs_frskd


def _is_frskd_module(type_name: str, task: str) -> bool:
    import frskd_mm  # noqa: F401  (the registry must know our modules)
    if task == 'classification':
        from mmpretrain.registry import MODELS
    else:
        from mmseg.registry import MODELS
    cls = MODELS.get(type_name) if isinstance(type_name, str) else type_name
    return cls is not None and cls.__module__.startswith('frskd_mm')


def _plain_dataset_defaults(type_name: str) -> Dict:
    """What an upstream parent class needs to read one of our datasets.

    Only :class:`DigitCanvasDataset` differs from its parent beyond checks:
    its classes, palette and ``.png`` images (``BaseSegDataset`` has no
    classes and reads ``.jpg``).
    """
    if type_name != 'DigitCanvasDataset':
        return {}
    from ..datasets.digit_canvas import DigitCanvasDataset
    meta = DigitCanvasDataset.METAINFO
    return dict(
        img_suffix='.png',
        seg_map_suffix='.png',
        metainfo=dict(classes=list(meta['classes']),
                      palette=[list(c) for c in meta['palette']]))


def _replace_dataset_types(node) -> None:
    if isinstance(node, dict):
        if node.get('type') in PLAIN_DATASETS:
            for key, value in _plain_dataset_defaults(node['type']).items():
                node.setdefault(key, value)
            node['type'] = PLAIN_DATASETS[node['type']]
        for value in node.values():
            _replace_dataset_types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _replace_dataset_types(value)
