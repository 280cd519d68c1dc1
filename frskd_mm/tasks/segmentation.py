"""Semantic segmentation on MMSegmentation."""
import copy
from argparse import Namespace
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict

from ..utils.dataset_checks import loader_pipeline
from .base import TaskAdapter, random_images_and_labels, visualization_hook


class SegmentationTask(TaskAdapter):
    """MMSegmentation semantic segmentation: ``FRSKDSegHead`` as
    ``model.decode_head``.

    The deployed student is the segmentor with the FRSKD head's nested
    ``student`` decode head and the FRSKD neck's inner ``neck`` (``neck.
    neck.*`` becomes ``neck.*``), or no neck without one; the self-teacher
    (the rest of ``neck.*``), its
    decoder (``decode_head.teacher.*``) and the distillation modules
    (``decode_head.distill.*``) are training-only.
    """

    name = 'segmentation'
    scope = 'mmseg'
    head_key = 'decode_head'
    frskd_head = 'FRSKDSegHead'
    training_only_prefixes = ('neck.', 'decode_head.teacher.',
                              'decode_head.distill.')
    student_renames = {'decode_head.student.': 'decode_head.'}
    plain_datasets = {
        'DigitCanvasDataset': 'BaseSegDataset',
    }

    def build_model(self, cfg: Config) -> nn.Module:
        from mmseg.apis import init_model

        # init_model edits its config: no training config, no pretrained
        # weights fetched by init_cfg.
        return init_model(copy.deepcopy(cfg), device='cpu')

    def student_model_config(self, model: dict) -> dict:
        head = model.get('decode_head', {})
        inner = (model.pop('neck', None) or {}).get('neck')
        if inner is not None:
            model['neck'] = inner  # the student's own neck stays
        model['decode_head'] = head['student']
        return model

    def plain_dataset_defaults(self, type_name: str) -> Dict:
        """``DigitCanvasDataset`` for ``BaseSegDataset``: its classes,
        palette and ``.png`` images (``BaseSegDataset`` reads ``.jpg``)."""
        if type_name != 'DigitCanvasDataset':
            return {}
        from ..datasets.digit_canvas import DigitCanvasDataset
        meta = DigitCanvasDataset.METAINFO
        return dict(
            img_suffix='.png',
            seg_map_suffix='.png',
            metainfo=dict(
                classes=list(meta['classes']),
                palette=[list(c) for c in meta['palette']]))

    def input_size(self, cfg: Config) -> Optional[Tuple[int, int]]:
        """``model.data_preprocessor.size`` (every input is padded to it),
        else ``crop_size``."""
        model = cfg.get('model', None) or {}
        size = (model.get('data_preprocessor', None) or {}).get('size')
        if size is None:
            size = cfg.get('crop_size', None)
        if size is None:
            return None
        return (size, size) if isinstance(size, int) else tuple(size)

    def set_input_size(self, cfg: Config, size: Tuple[int, int]) -> None:
        """Pad to ``size`` instead of the config's crop."""
        for holder in (cfg.get('model', {}), cfg):
            pre = holder.get('data_preprocessor') if holder else None
            if pre is not None and pre.get('size') is not None:
                pre['size'] = tuple(size)

    def make_batch(self, batch_size: int, size: Tuple[int, int],
                   num_classes: int, generator: torch.Generator) -> dict:
        """``inputs``: list of (3, H, W) uint8; ``SegDataSample`` s with
        ``gt_sem_seg`` (1, H, W)."""
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        h, w = size
        images, labels = random_images_and_labels(
            batch_size, size, num_classes, generator, label_shape=(1, h, w))
        samples = []
        for label in labels:
            sample = SegDataSample(
                metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
            sample.gt_sem_seg = PixelData(data=label)
            samples.append(sample)
        return dict(inputs=list(images), data_samples=samples)

    def configure_test(self, cfg: Config, args: Namespace) -> None:
        """As MMSegmentation 1.2.2's tool: ``--out`` is a directory for the
        predicted masks; ``--tta`` needs ``tta_model`` and
        ``tta_pipeline``."""
        if args.show or args.show_dir is not None:
            _check_drawable(cfg)
            hook = visualization_hook(cfg, "dict(type='SegVisualizationHook')")
            hook.draw = True
            hook.interval = args.interval
            if args.show:
                hook.show = True
                hook.wait_time = args.wait_time
            if args.show_dir:
                cfg.visualizer.save_dir = args.show_dir
        if args.tta:
            missing = [
                k for k in ('tta_model', 'tta_pipeline') if k not in cfg
            ]
            if missing:
                raise ValueError(
                    f'--tta for segmentation needs {missing} in the config, '
                    "e.g. tta_model = dict(type='SegTTAModel') and a "
                    'tta_pipeline with a TestTimeAug transform (see '
                    "MMSegmentation's configs).")
            cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
            cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        if args.out is not None and args.out_item in ('pred', None):
            cfg.test_evaluator['output_dir'] = args.out
            cfg.test_evaluator['keep_results'] = True


def _check_drawable(cfg: Config) -> None:
    """``--show``/``--show-dir`` draw each prediction on its original image:
    refuse a test pipeline that keeps the predictions at the resized size
    (``EvalResize(label_size='resized')``), naming the option to change."""
    for i, transform in enumerate(loader_pipeline(cfg, 'test')):
        if isinstance(transform, dict) and str(transform.get(
                'type', '')).endswith('EvalResize') and transform.get(
                    'label_size') == 'resized':
            raise ValueError(
                '--show/--show-dir draw the predictions on the original '
                f'images, but test_dataloader.dataset.pipeline.{i} is '
                "EvalResize(label_size='resized'), which scores them at the "
                "resized size (the FRSKD authors' protocol). Add "
                f'--cfg-options test_dataloader.dataset.pipeline.{i}.'
                'label_size=original (MMSeg\'s protocol: the original '
                'labels).')
