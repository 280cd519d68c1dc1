"""frskd_mm.tasks: one adapter per task, picked by default_scope."""
import argparse
import os.path as osp
import re
import sys
import types
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from frskd_mm.tasks import (TASKS, ClassificationTask, DetectionTask,
                            SegmentationTask, get_task)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize('scope,cls', [('mmpretrain', ClassificationTask),
                                       ('mmseg', SegmentationTask),
                                       ('mmdet', DetectionTask)])
def test_get_task(scope, cls):
    task = get_task(Config(dict(default_scope=scope)))
    assert isinstance(task, cls) and task.scope == scope
    assert TASKS[scope] is task


def test_missing_default_scope_is_an_error():
    with pytest.raises(ValueError, match="default_scope = 'mmpretrain'"):
        get_task(Config(dict(model=dict(type='ImageClassifier'))))


def test_unknown_default_scope_is_an_error():
    with pytest.raises(ValueError, match="'mmocr'.*'mmpretrain'.*'mmdet'"):
        get_task(Config(dict(default_scope='mmocr')))


def _fake_utils(calls):
    module = types.ModuleType('fake_utils')

    def register_all_modules(init_default_scope=True):
        calls.append(init_default_scope)

    module.register_all_modules = register_all_modules
    return module


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmseg', 'mmdet'])
def test_setup_registers_the_task_package(scope, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, f'{scope}.utils', _fake_utils(calls))
    TASKS[scope].setup()
    assert calls == [False]  # never changes the default scope


def test_setup_for_real_keeps_the_default_scope():
    from mmpretrain.registry import MODELS
    scope_before = DefaultScope.get_current_instance()
    TASKS['mmpretrain'].setup()
    assert MODELS.get('ImageClassifier') is not None
    assert DefaultScope.get_current_instance() is scope_before


def test_setup_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mmseg.utils', None)
    with pytest.raises(ImportError, match='mmsegmentation'):
        TASKS['mmseg'].setup()


def test_student_state_dict_split():
    cls_state = {
        'backbone.w': 1,
        'neck.x': 2,
        'head.fc.weight': 3,
        'head.distill.feature_loss.r': 4
    }
    assert TASKS['mmpretrain'].student_state_dict(cls_state) == {
        'backbone.w': 1,
        'head.fc.weight': 3
    }
    seg_state = {
        'backbone.w': 1,
        'neck.x': 2,
        'decode_head.student.conv_seg.weight': 3,
        'decode_head.teacher.cls.weight': 4,
        'decode_head.distill.y': 5,
        'auxiliary_head.z': 6
    }
    assert TASKS['mmseg'].student_state_dict(seg_state) == {
        'backbone.w': 1,
        'decode_head.conv_seg.weight': 3,
        'auxiliary_head.z': 6
    }


def test_make_batch():
    g = torch.Generator().manual_seed(0)
    batch = TASKS['mmpretrain'].make_batch(3, (8, 6), 5, g)
    assert batch['inputs'].shape == (3, 3, 8, 6)
    assert batch['inputs'].dtype == torch.uint8
    assert all(0 <= int(s.gt_label) < 5 for s in batch['data_samples'])
    batch = TASKS['mmseg'].make_batch(2, (8, 6), 4, g)
    assert len(batch['inputs']) == 2 and batch['inputs'][0].shape == (3, 8, 6)
    label = batch['data_samples'][0].gt_sem_seg.data
    assert label.shape == (1, 8, 6) and int(label.max()) < 4


def test_both_adapters_draw_images_then_labels_from_the_generator():
    """One drawing helper: images first, then labels, so that a seed gives
    the same images whatever the task."""

    def draw(label_shape):
        g = torch.Generator().manual_seed(3)
        images = torch.randint(
            0, 256, (2, 3, 4, 5), generator=g, dtype=torch.uint8)
        return images, torch.randint(0, 7, (2, *label_shape), generator=g)

    images, labels = draw(())
    cls = TASKS['mmpretrain'].make_batch(2, (4, 5), 7,
                                         torch.Generator().manual_seed(3))
    assert torch.equal(cls['inputs'], images)
    assert [int(s.gt_label) for s in cls['data_samples']] == labels.tolist()
    images, labels = draw((1, 4, 5))
    seg = TASKS['mmseg'].make_batch(2, (4, 5), 7,
                                    torch.Generator().manual_seed(3))
    assert torch.equal(torch.stack(seg['inputs']), images)
    assert torch.equal(
        torch.stack([s.gt_sem_seg.data for s in seg['data_samples']]), labels)


def test_segmentation_input_size():
    seg = TASKS['mmseg']
    cfg = Config(
        dict(
            crop_size=(64, 32),
            model=dict(data_preprocessor=dict(size=(64, 32)))))
    assert seg.input_size(cfg) == (64, 32)
    seg.set_input_size(cfg, (16, 16))
    assert tuple(cfg.model.data_preprocessor.size) == (16, 16)
    assert seg.input_size(Config(dict(crop_size=48))) == (48, 48)
    assert TASKS['mmpretrain'].input_size(cfg) is None


def test_dataloader_defaults():
    cls = TASKS['mmpretrain']
    assert cls.dataloader_defaults(training=True).persistent_workers
    assert 'persistent_workers' not in cls.dataloader_defaults(False)
    assert cls.dataloader_defaults(False).collate_fn == dict(
        type='default_collate')
    assert dict(TASKS['mmseg'].dataloader_defaults(True)) == {}


def _args(**kwargs):
    values = dict(
        show=False,
        show_dir=None,
        wait_time=2,
        interval=1,
        tta=False,
        out=None,
        out_item=None)
    values.update(kwargs)
    return argparse.Namespace(**values)


def test_configure_test_segmentation():
    seg = TASKS['mmseg']
    cfg = Config(
        dict(
            default_hooks=dict(
                visualization=dict(type='SegVisualizationHook')),
            visualizer=dict(type='X'),
            test_evaluator=dict(type='IoUMetric'),
            model=dict(type='M'),
            test_dataloader=dict(dataset=dict(pipeline=[]))))
    seg.configure_test(cfg, _args(show_dir='vis', out='masks'))
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.visualizer.save_dir == 'vis'
    assert cfg.test_evaluator.output_dir == 'masks'
    with pytest.raises(ValueError, match='tta_model'):
        seg.configure_test(cfg, _args(tta=True))
    # Predictions kept at the resized size cannot be drawn on the images.
    cfg.test_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='EvalResize', scale=(8, 8), label_size='resized')
    ]
    with pytest.raises(ValueError, match=r'pipeline\.1\.label_size=original'):
        seg.configure_test(cfg, _args(show=True))


def test_configure_test_classification():
    cls = TASKS['mmpretrain']
    cfg = Config(
        dict(
            default_hooks=dict(visualization=dict(type='VisualizationHook')),
            model=dict(type='ImageClassifier'),
            test_dataloader=dict(
                dataset=dict(pipeline=[dict(type='PackInputs')]))))
    cls.configure_test(cfg, _args(show_dir='vis', tta=True))
    assert cfg.default_hooks.visualization.out_dir == 'vis'
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'
    with pytest.raises(ValueError, match='VisualizationHook'):
        cls.configure_test(Config(dict()), _args(show=True))


TASK_NAMES = re.compile(
    r"""(==|!=|\bin\b|\bis\b)\s*\(?\s*['"](classification|segmentation|"""
    r"""mmpretrain|mmseg)['"]|['"](classification|segmentation|mmpretrain|"""
    r"""mmseg)['"]\s*(==|!=)""")


def test_task_names_are_compared_only_in_the_adapters():
    """Outside frskd_mm/tasks, frskd_mm/ and tools/ compare against a task
    name at most 4 times: task-specific behaviour lives in the adapters."""
    found = []
    for folder in ('frskd_mm', 'tools'):
        for path in sorted((ROOT / folder).rglob('*.py')):
            if (ROOT / 'frskd_mm' / 'tasks') in path.parents:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if TASK_NAMES.search(line):
                    found.append(f'{osp.relpath(path, ROOT)}:{n}: {line}')
    assert len(found) <= 4, '\n'.join(found)


def _cls_cfg(model_type, head_type, neck='GlobalAveragePooling'):
    return Config(
        dict(
            default_scope='mmpretrain',
            model=dict(
                type=model_type,
                backbone=dict(type='ResNet_CIFAR', depth=18),
                neck=dict(type=neck),
                head=dict(type=head_type, num_classes=10, in_channels=512))))


def test_classification_export_rules_with_sla():
    """FRSKD + SLA is FRSKD; SLA-SD (no FRSKD) is exportable too: its joint
    classifier is training-only and SLAImageClassifier deploys as
    ImageClassifier."""
    task = TASKS['mmpretrain']
    frskd_sla = _cls_cfg('SLAImageClassifier', 'FRSKDSLAClsHead', 'FRSKDNeck')
    sla_sd = _cls_cfg('SLAImageClassifier', 'SLAClsHead')
    plain = _cls_cfg('ImageClassifier', 'LinearClsHead')
    assert task.is_frskd_config(frskd_sla) and not task.is_frskd_config(sla_sd)
    assert task.is_exportable_config(frskd_sla)
    assert task.is_exportable_config(sla_sd)
    assert not task.is_exportable_config(plain)
    for cfg in (frskd_sla, sla_sd):
        model = task.student_model_config(cfg.model.to_dict())
        assert (model['type'], model['neck'],
                model['head']['type']) == ('ImageClassifier',
                                           dict(type='GlobalAveragePooling'),
                                           'LinearClsHead')
    state = {
        'backbone.w': 1,
        'neck.layers.x': 2,
        'neck.fc.weight': 3,
        'head.fc.weight': 4,
        'head.joint_fc.weight': 5,
        'head.teacher_joint_fc.bias': 6
    }
    assert task.student_state_dict(state) == {
        'backbone.w': 1,
        'head.fc.weight': 4
    }


def test_sla_sd_export_needs_the_pooling_neck():
    task = TASKS['mmpretrain']
    cfg = _cls_cfg('SLAImageClassifier', 'SLAClsHead', neck='LinearNeck')
    with pytest.raises(ValueError, match=r"model\.neck=dict\(type='Global"):
        task.student_model_config(cfg.model.to_dict())


def test_export_of_a_plain_config_names_the_exportable_types():
    from frskd_mm.apis import student_config
    with pytest.raises(
            ValueError,
            match=r"'FRSKDSLAClsHead'.*'SLAImageClassifier'.*got "
            r"model.type 'ImageClassifier'"):
        student_config(_cls_cfg('ImageClassifier', 'LinearClsHead'))


def test_detection_adapter():
    """FRSKDDenseHead as bbox_head or rpn_head; the student split; the
    input size of MMDetection's (W, H) Resize; a random batch of boxes."""
    det = TASKS['mmdet']
    fpn = dict(type='FPN', out_channels=8)
    head = dict(type='RetinaHead', num_classes=3)
    cfg = Config(
        dict(
            default_scope='mmdet',
            model=dict(
                type='RetinaNet',
                neck=dict(type='FRSKDNeck', neck=fpn, in_channels=[8] * 3),
                bbox_head=dict(type='FRSKDDenseHead', student=head)),
            train_dataloader=dict(
                dataset=dict(pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='Resize', scale=(1333, 800), keep_ratio=True)
                ]))))
    assert det.is_frskd_config(cfg) and det.is_exportable_config(cfg)
    assert det.init_api == 'init_detector'  # mmdet.apis has no init_model
    model = det.student_model_config(cfg.model.to_dict())
    assert model['neck'] == fpn and model['bbox_head'] == head
    two_stage = Config(dict(model=dict(rpn_head=dict(type='FRSKDDenseHead'))))
    assert det.is_frskd_config(two_stage)
    assert not det.is_frskd_config(Config(dict(model=dict(bbox_head=head))))
    state = {
        'backbone.w': 1,
        'neck.neck.lateral_convs.0.conv.weight': 2,
        'neck.layers.0.top_down_nodes.0.conv.weight': 3,
        'bbox_head.student.retina_cls.weight': 4,
        'bbox_head.teacher.retina_cls.weight': 5,
        'rpn_head.student.rpn_cls.weight': 6,
        'rpn_head.teacher.rpn_cls.weight': 7,
        'roi_head.bbox_head.fc_cls.weight': 8
    }
    assert det.student_state_dict(state) == {
        'backbone.w': 1,
        'neck.lateral_convs.0.conv.weight': 2,
        'bbox_head.retina_cls.weight': 4,
        'rpn_head.rpn_cls.weight': 6,
        'roi_head.bbox_head.fc_cls.weight': 8
    }
    assert det.input_size(cfg) == (800, 1333)
    batch = det.make_batch(2, (48, 64), 5, torch.Generator().manual_seed(0))
    assert batch['inputs'][0].shape == (3, 48, 64)
    boxes = batch['data_samples'][0].gt_instances.bboxes
    assert boxes.shape[1] == 4 and (boxes[:, 2:] > boxes[:, :2]).all()
    assert (boxes[:, 2] <= 64).all() and (boxes[:, 3] <= 48).all()
    labels = batch['data_samples'][1].gt_instances.labels
    assert (labels < 5).all()


def test_configure_test_detection(tmp_path):
    det = TASKS['mmdet']
    cfg = Config(
        dict(
            default_hooks=dict(
                visualization=dict(type='DetVisualizationHook')),
            model=dict(type='RetinaNet'),
            test_dataloader=dict(
                dataset=dict(pipeline=[dict(type='PackDetInputs')]))))
    det.configure_test(cfg, _args(show_dir='vis', tta=True))
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.default_hooks.visualization.test_out_dir == 'vis'
    assert cfg.model.type == 'DetTTAModel'
    assert cfg.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'
    runner = types.SimpleNamespace(
        test_evaluator=types.SimpleNamespace(metrics=[]))
    with pytest.raises(ValueError, match='.pkl'):
        det.configure_test_runner(runner, _args(out='dets.json'))
    det.configure_test_runner(runner, _args(out=str(tmp_path / 'dets.pkl')))
    assert type(runner.test_evaluator.metrics[0]).__name__ == \
        'DumpDetResults'
