"""FRSKDDenseHead on tiny MMDetection detectors (RetinaNet, FCOS, ATSS,
Faster R-CNN's RPN): the loss keys, the gradient flow of each term (by
autograd), and the configuration errors, before the first iteration."""
import copy
import logging
import types

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import frskd_mm  # noqa: F401
from frskd_mm.engine.hooks import FRSKDHook

register_all_modules(init_default_scope=False)

STRIDES = [4, 8, 16, 32]
FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25)
HEADS = {
    'retina':
    dict(
        type='RetinaHead',
        stacked_convs=1,
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=4,
            scales_per_octave=1,
            ratios=[0.5, 1.0],
            strides=STRIDES),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
        loss_cls=FOCAL,
        loss_bbox=dict(type='L1Loss')),
    'fcos':
    dict(
        type='FCOSHead',
        stacked_convs=1,
        strides=STRIDES,
        regress_ranges=((-1, 16), (16, 32), (32, 64), (64, 1e8)),
        loss_cls=FOCAL),
    'atss':
    dict(
        type='ATSSHead',
        stacked_convs=1,
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=4,
            scales_per_octave=1,
            ratios=[1.0],
            strides=STRIDES),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder', target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=FOCAL,
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
}
TRAIN_CFGS = {
    'retina':
    dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    'fcos':
    None,
    'atss':
    dict(
        assigner=dict(type='ATSSAssigner', topk=9),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
}
DETECTORS = {'retina': 'RetinaNet', 'fcos': 'FCOS', 'atss': 'ATSS'}
TEST_CFG = dict(
    nms_pre=50,
    score_thr=0.0,
    nms=dict(type='nms', iou_threshold=0.5),
    max_per_img=10)


def _backbone():
    return dict(
        type='ResNet',
        depth=18,
        base_channels=8,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(0, 1, 2),
        norm_eval=False)


def _fpn(out_channels=32, num_outs=4):
    return dict(
        type='FPN',
        in_channels=[8, 16, 32],
        out_channels=out_channels,
        add_extra_convs='on_input',
        num_outs=num_outs)


def detector_cfg(kind='retina', neck=None, head=None, **frskd):
    """A tiny FRSKD detector: ResNet-18/8, FPN of 4 levels (32 channels,
    strides 4-32), FRSKDNeck (two SegBiFPNLayer layers) and FRSKDDenseHead
    around a one-conv head of ``kind``."""
    student = dict(
        HEADS[kind],
        num_classes=3,
        in_channels=32,
        feat_channels=32,
        **(head or {}))
    return ConfigDict(
        type=DETECTORS[kind],
        data_preprocessor=dict(
            type='DetDataPreprocessor',
            mean=[128.0] * 3,
            std=[64.0] * 3,
            pad_size_divisor=32),
        backbone=_backbone(),
        neck=dict(
            dict(
                type='FRSKDNeck',
                neck=_fpn(),
                in_channels=[32] * 4,
                width=1,
                num_layers=2,
                layer_cfg=dict(type='SegBiFPNLayer')), **(neck or {})),
        bbox_head=dict(type='FRSKDDenseHead', student=student, **frskd),
        train_cfg=TRAIN_CFGS[kind],
        test_cfg=TEST_CFG)


def build(cfg):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(copy.deepcopy(cfg))
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # no line per initialised tensor
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def with_hook(model):
    """What the Runner does with FRSKDHook before the first iteration."""
    FRSKDHook().before_train(types.SimpleNamespace(model=model))
    return model


def batch(model, sizes=((64, 64), (48, 64))):
    """Two images (of different sizes: the second one is padded) with two
    and one boxes, through the model's data preprocessor."""
    g = torch.Generator().manual_seed(0)
    boxes = [[[4., 6., 30., 40.], [34., 20., 60., 58.]], [[10., 8., 40., 30.]]]
    inputs, samples = [], []
    for (h, w), b in zip(sizes, boxes):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=g))
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(b), labels=torch.arange(len(b)) % 3)
        samples.append(sample)
    return model.data_preprocessor(
        dict(inputs=inputs, data_samples=samples), True)


def _total(value):
    return sum(value) if isinstance(value, (list, tuple)) else value


def _grad_sums(model, loss):
    model.zero_grad()
    loss.backward(retain_graph=True)
    return {
        n: (p.grad.abs().sum().item() if p.grad is not None else 0.0)
        for n, p in model.named_parameters() if p.requires_grad
    }


def _under(grads, prefix):
    found = {n: g for n, g in grads.items() if n.startswith(prefix)}
    assert found, prefix
    return found


@pytest.mark.parametrize('kind', ['retina', 'fcos', 'atss'])
def test_losses_and_gradient_flow(kind):
    """The student's keys, loss_teacher_<same>, loss_kd, loss_att; the
    distillation terms give exactly zero gradient to every self-teacher
    parameter (the BiFPN layers and the teacher head) and a non-zero one to
    the student's backbone, FPN and head; the teacher's detection loss
    trains the teacher head and the BiFPN layers (and the backbone and FPN
    through them), never the student head."""
    model = with_hook(build(detector_cfg(kind))).train()
    data = batch(model)
    losses = model(**data, mode='loss')
    own = {k
           for k in losses
           if not k.startswith('loss_teacher')} - {'loss_kd', 'loss_att'}
    expected_own = {'loss_cls', 'loss_bbox'} | ({'loss_centerness'} if kind
                                                in ('fcos', 'atss') else set())
    assert own == expected_own
    assert {k
            for k in losses if k.startswith('loss_teacher')
            } == {'loss_teacher' + k[len('loss'):]
                  for k in own}
    assert losses['loss_kd'].item() > 0 and losses['loss_att'].item() > 0

    grads = _grad_sums(model, losses['loss_kd'] + losses['loss_att'])
    teacher = {
        **_under(grads, 'neck.layers.'),
        **_under(grads, 'bbox_head.teacher.')
    }
    assert all(g == 0.0 for g in teacher.values()), \
        {n: g for n, g in teacher.items() if g}
    for prefix in ('backbone.', 'neck.neck.', 'bbox_head.student.'):
        assert sum(_under(grads, prefix).values()) > 0, prefix

    teacher_loss = sum(
        _total(v) for k, v in losses.items() if k.startswith('loss_teacher'))
    grads = _grad_sums(model, teacher_loss)
    assert all(g == 0.0 for g in _under(grads, 'bbox_head.student.').values())
    for prefix in ('bbox_head.teacher.', 'neck.layers.', 'neck.neck.',
                   'backbone.'):
        assert sum(_under(grads, prefix).values()) > 0, prefix


def test_predict_runs_the_student_only():
    """In eval mode the teacher never runs; the detections are the
    student head's on the FPN's outputs."""
    model = build(detector_cfg()).eval()
    data = batch(model)
    calls = []
    model.bbox_head.teacher.register_forward_pre_hook(
        lambda *a: calls.append(1))
    model.neck.layers.register_forward_pre_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        results = model(**data, mode='predict')
        feats = model.neck(model.backbone(data['inputs']))
        expected = model.bbox_head.student.predict(
            feats, data['data_samples'], rescale=True)
    assert not calls
    for got, want in zip(results, expected):
        torch.testing.assert_close(got.pred_instances.bboxes, want.bboxes)
        torch.testing.assert_close(got.pred_instances.scores, want.scores)


def test_two_stage_rpn():
    """Faster R-CNN with FRSKDDenseHead as rpn_head: the RPN's losses, its
    teacher's and the distillation terms (renamed with rpn_ by the
    detector) beside the RoI head's; distillation never reaches the
    teacher."""
    cfg = ConfigDict(
        type='FasterRCNN',
        data_preprocessor=detector_cfg().data_preprocessor,
        backbone=_backbone(),
        neck=detector_cfg().neck,
        rpn_head=dict(
            type='FRSKDDenseHead',
            student=dict(
                type='RPNHead',
                in_channels=32,
                feat_channels=32,
                anchor_generator=dict(
                    type='AnchorGenerator',
                    scales=[4],
                    ratios=[0.5, 1.0],
                    strides=STRIDES),
                bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True),
                loss_bbox=dict(type='L1Loss'))),
        roi_head=dict(
            type='StandardRoIHead',
            bbox_roi_extractor=dict(
                type='SingleRoIExtractor',
                roi_layer=dict(type='RoIAlign', output_size=7),
                out_channels=32,
                featmap_strides=STRIDES),
            bbox_head=dict(
                type='Shared2FCBBoxHead',
                in_channels=32,
                fc_out_channels=64,
                num_classes=3,
                bbox_coder=dict(type='DeltaXYWHBBoxCoder'))),
        train_cfg=dict(
            rpn=dict(
                assigner=dict(
                    type='MaxIoUAssigner',
                    pos_iou_thr=0.7,
                    neg_iou_thr=0.3,
                    min_pos_iou=0.3),
                # As MMDetection's Faster R-CNN: the RPN's sampler adds no
                # ground-truth boxes (its anchors cannot index them).
                sampler=dict(
                    type='RandomSampler',
                    num=64,
                    pos_fraction=0.5,
                    add_gt_as_proposals=False),
                allowed_border=-1,
                pos_weight=-1,
                debug=False),
            rpn_proposal=dict(
                nms_pre=200,
                max_per_img=50,
                nms=dict(type='nms', iou_threshold=0.7)),
            rcnn=dict(
                assigner=dict(
                    type='MaxIoUAssigner',
                    pos_iou_thr=0.5,
                    neg_iou_thr=0.5,
                    min_pos_iou=0.5),
                sampler=dict(type='RandomSampler', num=32, pos_fraction=0.25),
                pos_weight=-1,
                debug=False)),
        test_cfg=dict(
            rpn=dict(
                nms_pre=200,
                max_per_img=50,
                nms=dict(type='nms', iou_threshold=0.7)),
            rcnn=dict(
                score_thr=0.0,
                nms=dict(type='nms', iou_threshold=0.5),
                max_per_img=10)))
    model = with_hook(build(cfg)).train()
    data = batch(model)
    losses = model(**data, mode='loss')
    assert {
        'loss_rpn_cls', 'loss_rpn_bbox', 'loss_teacher_rpn_cls',
        'loss_teacher_rpn_bbox', 'rpn_loss_kd', 'rpn_loss_att', 'loss_cls',
        'loss_bbox'
    } <= set(losses)
    grads = _grad_sums(model, losses['rpn_loss_kd'] + losses['rpn_loss_att'])
    assert all(g == 0.0 for g in _under(grads, 'rpn_head.teacher.').values())
    assert all(g == 0.0 for g in _under(grads, 'neck.layers.').values())
    assert sum(_under(grads, 'rpn_head.student.').values()) > 0
    model.eval()
    with torch.no_grad():
        results = model(**data, mode='predict')
    assert len(results) == 2 and 'bboxes' in results[0].pred_instances


@pytest.mark.parametrize(
    'head,frskd,error,match',
    [(None, dict(teacher=dict(num_classes=5)), ValueError,
      r'teacher.num_classes=5 .* num_classes=3'),
     (dict(loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False)), {},
      ValueError, 'use_sigmoid_cls is False'),
     (None, dict(teacher=dict(type='FCOSHead')), ValueError,
      'copy of the student head')])
def test_build_errors_name_the_key(head, frskd, error, match):
    with pytest.raises(error, match=match):
        build(detector_cfg(head=head, **frskd))


def test_a_head_that_is_not_dense_is_refused():
    cfg = detector_cfg()
    cfg.bbox_head.student = dict(
        type='Shared2FCBBoxHead', in_channels=32, num_classes=3)
    with pytest.raises(TypeError, match='not an MMDetection dense head'):
        build(cfg)


@pytest.mark.parametrize(
    'neck,head,frskd,match',
    [(dict(neck=_fpn(out_channels=16)), None, {},
      r'model.neck.in_channels must equal'),
     (dict(neck=_fpn(out_channels=16), in_channels=[16] * 4), None, {},
      r'model.bbox_head.student.in_channels=32'),
     (dict(neck=_fpn(num_outs=3), in_channels=[32] * 3), None, {},
      r'lists 3 FPN levels .* 4 prior levels'),
     (dict(width=2, layer_cfg=dict(type='BiFPNLayer', depth=1)), None, {},
      r'model.bbox_head.teacher=dict\(in_channels=64\)'),
     (dict(num_classes=3), None, {}, r'Remove model.neck.num_classes')])
def test_config_mismatches_stop_before_the_first_iteration(
        neck, head, frskd, match):
    """FRSKDHook.before_train (as the Runner calls it) names the keys."""
    model = build(detector_cfg(neck=neck, head=head, **frskd))
    with pytest.raises(ValueError, match=match):
        with_hook(model)


def test_training_needs_the_frskd_neck_and_hook():
    cfg = detector_cfg()
    cfg.neck = _fpn()
    model = build(cfg).train()
    with pytest.raises(ValueError, match='no FRSKDNeck'):
        with_hook(model)
    with pytest.raises(TypeError, match="type='FRSKDNeck'"):
        model(**batch(model), mode='loss')
    model = build(detector_cfg()).train()
    with pytest.raises(RuntimeError, match='FRSKDHook'):
        model(**batch(model), mode='loss')
