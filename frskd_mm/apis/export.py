"""Turn an FRSKD model into the plain student that upstream packages load."""
import copy
from typing import Dict, Tuple

from mmengine.config import Config, ConfigDict

# Modules of a trained FRSKD classifier that exist only for training.
TRAINING_ONLY_PREFIXES = ('neck.', 'head.distill.')
# frskd_mm datasets and the upstream classes they specialise.
PLAIN_DATASETS = {
    'LocalCIFAR10': 'CIFAR10',
    'LocalCIFAR100': 'CIFAR100',
    'ImageFolder': 'CustomDataset',
}


def student_state_dict(state_dict: Dict) -> Dict:
    """Drop the self-teacher (``neck.*``) and the distillation modules."""
    return {
        k: v
        for k, v in state_dict.items()
        if not k.startswith(TRAINING_ONLY_PREFIXES)
    }


def student_config(cfg: Config) -> Tuple[Config, bool]:
    """The config of the deployed student for a plain MMPretrain install.

    The self-teacher neck becomes ``GlobalAveragePooling`` and the FRSKD
    head a ``LinearClsHead`` with the same classifier, which is exactly what
    the FRSKD model computes in eval mode. ``FRSKDHook`` and frskd_mm's
    datasets are replaced by their upstream counterparts.

    Args:
        cfg (Config): The FRSKD training config.

    Returns:
        tuple[Config, bool]: The student config, and whether it still needs
        ``frskd_mm`` (its backbone is one of ours, e.g. WideResNetCIFAR).
    """
    model = cfg.model
    if model.get('head', {}).get('type') != 'FRSKDClsHead':
        raise ValueError('export_student expects an FRSKD classification '
                         "config (model.head.type == 'FRSKDClsHead'), got "
                         f"{model.get('head', {}).get('type')!r}.")
    head = model.head
    plain = copy.deepcopy(cfg._cfg_dict.to_dict())
    plain['model']['neck'] = dict(type='GlobalAveragePooling')
    plain['model']['head'] = dict(
        type='LinearClsHead',
        num_classes=head.num_classes,
        in_channels=head.in_channels,
        loss=head.get('loss', dict(type='CrossEntropyLoss', loss_weight=1.0)),
        topk=head.get('topk', (1, )))
    plain['custom_hooks'] = [
        h for h in plain.get('custom_hooks', []) if h.get('type') != 'FRSKDHook'
    ]
    _replace_dataset_types(plain)
    if plain.get('dataset_type') in PLAIN_DATASETS:
        plain['dataset_type'] = PLAIN_DATASETS[plain['dataset_type']]

    from mmpretrain.registry import MODELS
    import frskd_mm  # noqa: F401  (the registry must know our modules)
    backbone_cls = MODELS.get(model.backbone.type)
    needs_frskd = backbone_cls is not None and \
        backbone_cls.__module__.startswith('frskd_mm')
    if needs_frskd:
        plain['custom_imports'] = dict(
            imports=['frskd_mm.models.backbones'], allow_failed_imports=False)
    else:
        plain.pop('custom_imports', None)
    return Config(plain), needs_frskd


def _replace_dataset_types(node) -> None:
    if isinstance(node, dict):
        if node.get('type') in PLAIN_DATASETS:
            node['type'] = PLAIN_DATASETS[node['type']]
        for value in node.values():
            _replace_dataset_types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _replace_dataset_types(value)
