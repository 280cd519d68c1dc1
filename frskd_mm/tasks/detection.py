"""Object detection on MMDetection."""
import copy
from argparse import Namespace
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from ..utils.config_types import config_type_name
from ..utils.dataset_checks import loader_pipeline
from .base import TaskAdapter, visualization_hook


class DetectionTask(TaskAdapter):
    """MMDetection object detection: ``FRSKDDenseHead`` as ``model.bbox_head``
    of a single-stage detector (RetinaNet, FCOS, ATSS, ...) or as
    ``model.rpn_head`` of a two-stage one (Faster R-CNN).

    The deployed student is the detector with the FRSKD head's nested
    ``student`` head and the FRSKD neck's inner ``neck`` (the FPN;
    ``neck.neck.*`` becomes ``neck.*``); the self-teacher (the rest of
    ``neck.*``), the teacher head (``<head>.teacher.*``) and the
    distillation modules (``<head>.distill.*``) are training-only.
    """

    name = 'detection'
    scope = 'mmdet'
    head_key = 'bbox_head'
    frskd_head = 'FRSKDDenseHead'
    #: The model keys that may hold the FRSKD head.
    head_keys = ('bbox_head', 'rpn_head')
    training_only_prefixes = ('neck.', 'bbox_head.teacher.',
                              'bbox_head.distill.', 'rpn_head.teacher.',
                              'rpn_head.distill.')
    student_renames = {
        'bbox_head.student.': 'bbox_head.',
        'rpn_head.student.': 'rpn_head.'
    }
    export_hint = ("model.bbox_head.type or model.rpn_head.type == "
                   "'FRSKDDenseHead'")
    init_api = 'init_detector'

    def build_model(self, cfg: Config) -> nn.Module:
        """The detector of ``cfg``, in eval mode on the CPU. As
        ``mmdet.apis.init_detector``: the backbone's ``init_cfg`` (ImageNet
        weights to download) is dropped; unlike it, no COCO class names are
        set for a model without checkpoint."""
        from mmdet.registry import MODELS
        model_cfg = copy.deepcopy(cfg.model)
        backbone = model_cfg.get('backbone', None)
        if isinstance(backbone, dict) and 'init_cfg' in backbone:
            backbone['init_cfg'] = None
        with DefaultScope.overwrite_default_scope(self.scope):
            model = MODELS.build(model_cfg)
        return model.eval()

    def head(self, model: nn.Module) -> nn.Module:
        """The FRSKD head wherever it is, else the detector's own head."""
        for key in self.head_keys:
            head = getattr(model, key, None)
            if head is not None and type(head).__name__ == self.frskd_head:
                return head
        return getattr(model, 'bbox_head', None) or getattr(model, 'rpn_head')

    def num_classes(self, model: nn.Module) -> int:
        """Classes the detector predicts (its RoI head's, if it has one)."""
        roi = getattr(model, 'roi_head', None)
        if roi is not None and getattr(roi, 'bbox_head', None) is not None:
            return int(roi.bbox_head.num_classes)
        return int(self.head(model).num_classes)

    def is_frskd_config(self, cfg: Config) -> bool:
        """Whether ``model.bbox_head`` or ``model.rpn_head`` is FRSKD's."""
        model = cfg.get('model', None) or {}
        return any(
            config_type_name(model.get(key, None)) in self.frskd_heads
            for key in self.head_keys)

    def student_model_config(self, model: dict) -> dict:
        inner = (model.pop('neck', None) or {}).get('neck')
        if inner is not None:
            model['neck'] = inner  # the student's FPN stays
        for key in self.head_keys:
            head = model.get(key, None)
            if config_type_name(head) in self.frskd_heads:
                model[key] = head['student']
        return model

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------
    def input_size(self, cfg: Config) -> Optional[Tuple[int, int]]:
        """(H, W) of the last ``Resize`` of the training pipeline
        (MMDetection's ``scale`` is (W, H)), or None."""
        size = None
        for transform in loader_pipeline(cfg, 'train'):
            if isinstance(transform, dict) and \
                    transform.get('type') == 'Resize' and \
                    transform.get('scale') is not None:
                scale = transform['scale']
                size = (scale, scale) if isinstance(scale, int) else \
                    (int(scale[1]), int(scale[0]))
        return size

    def make_batch(self, batch_size: int, size: Tuple[int, int],
                   num_classes: int, generator: torch.Generator) -> dict:
        """``inputs``: list of (3, H, W) uint8; ``DetDataSample`` s with one
        to three random ``gt_instances`` (boxes of 1/8 to 1/2 of the image,
        labels in ``[0, num_classes)``)."""
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        h, w = size
        images = torch.randint(
            0,
            256, (batch_size, 3, h, w),
            generator=generator,
            dtype=torch.uint8)
        samples = []
        for _ in range(batch_size):
            n = int(torch.randint(1, 4, (1, ), generator=generator))
            wh = torch.rand(n, 2, generator=generator) * 0.375 + 0.125
            xy = torch.rand(n, 2, generator=generator) * (1 - wh)
            scale = torch.tensor([w, h], dtype=torch.float32)
            boxes = torch.cat([xy * scale, (xy + wh) * scale], dim=1)
            sample = DetDataSample(
                metainfo=dict(
                    img_shape=(h, w),
                    ori_shape=(h, w),
                    scale_factor=(1.0, 1.0)))
            sample.gt_instances = InstanceData(
                bboxes=boxes,
                labels=torch.randint(
                    0, num_classes, (n, ), generator=generator))
            samples.append(sample)
        return dict(inputs=list(images), data_samples=samples)

    # ------------------------------------------------------------------
    # tools/test.py
    # ------------------------------------------------------------------
    def configure_test(self, cfg: Config, args: Namespace) -> None:
        """As MMDetection 3.3.0's tool: ``--show``/``--show-dir`` switch on
        ``DetVisualizationHook``; ``--tta`` uses the config's
        ``tta_model``/``tta_pipeline``, else flip TTA."""
        if args.show or args.show_dir is not None:
            hook = visualization_hook(cfg, "dict(type='DetVisualizationHook')")
            hook.draw = True
            hook.interval = args.interval
            if args.show:
                hook.show = True
                hook.wait_time = args.wait_time
            if args.show_dir:
                hook.test_out_dir = args.show_dir
        if args.tta:
            _set_tta(cfg)

    def configure_test_runner(self, runner, args: Namespace) -> None:
        """``--out`` (predictions, a ``.pkl`` file): dump them, as
        MMDetection's tool."""
        if args.out and args.out_item in ('pred', None):
            if not args.out.endswith(('.pkl', '.pickle')):
                raise ValueError(
                    f'--out {args.out}: detections are dumped as a pickle '
                    'file; give a path ending in .pkl.')
            from mmdet.evaluation import DumpDetResults
            runner.test_evaluator.metrics.append(
                DumpDetResults(out_file_path=args.out))


def _set_tta(cfg: Config) -> None:
    """MMDetection's ``--tta``: the config's ``tta_model``/``tta_pipeline``,
    else the detections of the image and its flip merged by NMS."""
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(
            type='DetTTAModel',
            tta_cfg=dict(
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
    if 'tta_pipeline' not in cfg:
        data = cfg.test_dataloader.dataset
        while 'dataset' in data:
            data = data['dataset']
        cfg.tta_pipeline = copy.deepcopy(data.pipeline)
        cfg.tta_pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[
                dict(type='RandomFlip', prob=1.),
                dict(type='RandomFlip', prob=0.)
            ],
                        [
                            dict(
                                type='PackDetInputs',
                                meta_keys=('img_id', 'img_path', 'ori_shape',
                                           'img_shape', 'scale_factor', 'flip',
                                           'flip_direction'))
                        ]])
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
