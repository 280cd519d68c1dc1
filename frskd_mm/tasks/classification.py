"""Classification on MMPretrain."""
from argparse import Namespace
from copy import deepcopy
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict

from .base import TaskAdapter, visualization_hook


class ClassificationTask(TaskAdapter):
    """MMPretrain image classification: ``FRSKDClsHead`` as ``model.head``.

    The deployed student is ``GlobalAveragePooling`` + ``LinearClsHead``
    with the FRSKD head's classifier; the self-teacher (``neck.*``) and the
    distillation modules (``head.distill.*``) are training-only.
    """

    name = 'classification'
    scope = 'mmpretrain'
    head_key = 'head'
    frskd_head = 'FRSKDClsHead'
    training_only_prefixes = ('neck.', 'head.distill.')
    student_renames = {}
    plain_datasets = {
        'LocalCIFAR10': 'CIFAR10',
        'LocalCIFAR100': 'CIFAR100',
    }

    def build_model(self, cfg: Config) -> nn.Module:
        from mmpretrain.apis import get_model
        return get_model(cfg, device='cpu')

    def student_model_config(self, model: dict) -> dict:
        head = model.get('head', {})
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
        h, w = size
        images = torch.randint(
            0,
            256, (batch_size, 3, h, w),
            generator=generator,
            dtype=torch.uint8)
        labels = torch.randint(
            0, num_classes, (batch_size, ), generator=generator)
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
