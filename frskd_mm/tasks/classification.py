"""Classification on MMPretrain."""
from argparse import Namespace
from copy import deepcopy
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict

from ..utils.config_types import config_type_name
from .base import TaskAdapter, random_images_and_labels, visualization_hook


class ClassificationTask(TaskAdapter):
    """MMPretrain image classification: ``FRSKDClsHead`` (or, with
    self-supervised label augmentation, ``FRSKDSLAClsHead``) as
    ``model.head``.

    The deployed student is ``GlobalAveragePooling`` + ``LinearClsHead``
    with the FRSKD head's classifier; the self-teacher (``neck.*``), the
    distillation modules (``head.distill.*``) and SLA's joint classifiers
    (``head.joint_fc.*``, ``head.teacher_joint_fc.*``) are training-only.
    ``SLAImageClassifier``, which adds the rotated forward pass in training
    only, deploys as MMPretrain's ``ImageClassifier``; SLA-SD configs
    (``SLAImageClassifier`` + ``SLAClsHead``, no FRSKD) export the same way.
    """

    name = 'classification'
    scope = 'mmpretrain'
    head_key = 'head'
    frskd_head = 'FRSKDClsHead'
    #: Every FRSKD head type of classification.
    frskd_heads = ('FRSKDClsHead', 'FRSKDSLAClsHead')
    training_only_prefixes = ('neck.', 'head.distill.', 'head.joint_fc.',
                              'head.teacher_joint_fc.')
    #: Classifier types that differ from their deployed type in training
    #: only -> the deployed (upstream) type.
    plain_classifiers = {'SLAImageClassifier': 'ImageClassifier'}
    #: Heads of such classifiers that deploy as ``LinearClsHead`` without
    #: FRSKD (SLA-SD).
    plain_heads = ('SLAClsHead', )
    #: The exportable configs, for messages.
    export_hint = ("model.head.type 'FRSKDClsHead' or 'FRSKDSLAClsHead', "
                   "or model.type 'SLAImageClassifier' with model.head.type "
                   "'SLAClsHead' (SLA-SD)")
    student_renames = {}
    plain_datasets = {
        'LocalCIFAR10': 'CIFAR10',
        'LocalCIFAR100': 'CIFAR100',
    }

    def build_model(self, cfg: Config) -> nn.Module:
        from mmpretrain.apis import get_model
        return get_model(cfg, device='cpu')

    def is_exportable_config(self, cfg: Config) -> bool:
        """Whether the config trains parts that its deployed model lacks:
        FRSKD configs and SLA-SD ones (their joint classifier)."""
        if self.is_frskd_config(cfg):
            return True
        model = cfg.get('model', None) or {}
        return config_type_name(model) in self.plain_classifiers and \
            config_type_name(_head(cfg)) in self.plain_heads

    def student_model_config(self, model: dict) -> dict:
        head = model.get('head', {})
        model_type = config_type_name(model)
        if model_type in self.plain_classifiers:
            model['type'] = self.plain_classifiers[model_type]
        if config_type_name(head) in self.plain_heads:
            # SLA-SD: only the joint classifier is training-only, and the
            # neck is kept; the state dict drops every ``neck.*`` tensor.
            neck = config_type_name(model.get('neck') or {})
            if neck != 'GlobalAveragePooling':
                raise ValueError(
                    f'{head["type"]} (SLA-SD) configs export only with '
                    "model.neck=dict(type='GlobalAveragePooling'), as our "
                    'SLA-SD configs have it (the export keeps no neck '
                    f'tensors); got model.neck type {neck!r}.')
        model['neck'] = dict(type='GlobalAveragePooling')
        model['head'] = dict(
            type='LinearClsHead',
            num_classes=head['num_classes'],
            in_channels=head['in_channels'],
            loss=head.get('loss',
                          dict(type='CrossEntropyLoss', loss_weight=1.0)),
            topk=head.get('topk', (1, )))
        return model

    def make_batch(self, batch_size: int, size: Tuple[int, int],
                   num_classes: int, generator: torch.Generator) -> dict:
        """``inputs`` (N, 3, H, W) uint8 and ``DataSample`` s with
        ``gt_label``."""
        from mmpretrain.structures import DataSample
        images, labels = random_images_and_labels(batch_size, size,
                                                  num_classes, generator)
        samples = [DataSample().set_gt_label(int(i)) for i in labels]
        return dict(inputs=images, data_samples=samples)

    def dataloader_defaults(self, training: bool) -> ConfigDict:
        """MMPretrain's tool defaults: ``pin_memory`` when CUDA is
        available, ``default_collate`` and, for training,
        ``persistent_workers``."""
        defaults = ConfigDict(
            pin_memory=torch.cuda.is_available(),
            collate_fn=dict(type='default_collate'))
        if training:
            defaults.persistent_workers = True
        return defaults

    def configure_test(self, cfg: Config, args: Namespace) -> None:
        if args.show or args.show_dir is not None:
            hook = visualization_hook(cfg, "dict(type='VisualizationHook')")
            hook.enable = True
            hook.show = args.show
            hook.wait_time = args.wait_time
            hook.out_dir = args.show_dir
            hook.interval = args.interval
        if args.tta:
            _set_tta(cfg)

    def configure_test_runner(self, runner, args: Namespace) -> None:
        """``--out`` (predictions): dump them, as MMPretrain's tool."""
        if args.out and args.out_item in ('pred', None):
            from mmengine.evaluator import DumpResults
            runner.test_evaluator.metrics.append(
                DumpResults(out_file_path=args.out))


def _head(cfg: Config) -> dict:
    head = (cfg.get('model', None) or {}).get('head', None)
    return head if isinstance(head, dict) else {}


def _set_tta(cfg: Config) -> None:
    """MMPretrain's ``--tta``: the config's ``tta_model``/``tta_pipeline``,
    else the average of the image's and its flip's scores."""
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
    if 'tta_pipeline' not in cfg:
        test_pipeline = cfg.test_dataloader.dataset.pipeline
        cfg.tta_pipeline = deepcopy(test_pipeline)
        cfg.tta_pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[
                [
                    dict(type='RandomFlip', prob=1.),
                    dict(type='RandomFlip', prob=0.)
                ],
                [test_pipeline[-1]],
            ])
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
