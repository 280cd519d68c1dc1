"""frskd_mm.analysis.cost: parameters by role and FLOPs of a model's parts."""
import copy

import pytest
import torch
import torch.nn as nn
from conftest import frskd_classifier_cfg
from mmengine.config import Config
from mmengine.registry import init_default_scope

from frskd_mm.analysis import analyze_model, count_parameters
from frskd_mm.analysis.cost import called_modules, modules_of
from frskd_mm.apis import init_model
from frskd_mm.tasks import get_task

FITNET = dict(
    type='FitNetLoss',
    student_channels=[32, 64, 128],
    teacher_channels=[64, 128, 256])

NORM = dict(type='BN', requires_grad=True)
SEG_MODEL = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[120.0] * 3,
        std=[60.0] * 3,
        size=(48, 48)),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=NORM,
        base_channels=16,
        stem_channels=16),
    neck=dict(type='FRSKDNeck', in_channels=[16, 32, 64, 128], width=2),
    decode_head=dict(
        type='FRSKDSegHead',
        student=dict(
            type='FCNHead',
            in_channels=128,
            in_index=3,
            channels=16,
            num_convs=1,
            num_classes=3,
            norm_cfg=NORM),
        teacher=dict(in_channels=32, in_index=0, channels=16)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))


def _twins(scope, model):
    """An FRSKD model and its baseline (the task's deployed student
    config), both by :func:`frskd_mm.apis.init_model`."""
    cfg = Config(dict(default_scope=scope, model=copy.deepcopy(model)))
    task = get_task(cfg)
    plain = Config(
        dict(
            default_scope=scope,
            model=task.student_model_config(copy.deepcopy(model))))
    try:
        return init_model(cfg, seed=0), init_model(plain, seed=0)
    finally:
        init_default_scope('mmpretrain')  # as conftest left it


# The self-teacher on top of the student's own FPN neck.
SEG_FPN_MODEL = copy.deepcopy(SEG_MODEL)
SEG_FPN_MODEL['neck'] = dict(
    type='FRSKDNeck',
    neck=dict(
        type='FPN',
        in_channels=[16, 32, 64, 128],
        out_channels=16,
        num_outs=4,
        norm_cfg=NORM),
    in_channels=[16] * 4,
    width=2,
    last_layer_top_down_only=True)
SEG_FPN_MODEL['decode_head']['student'].update(in_channels=16, in_index=0)

TWINS = {
    'cls': ('mmpretrain', frskd_classifier_cfg(num_classes=5), 32),
    'cls_fitnet':
    ('mmpretrain', frskd_classifier_cfg(num_classes=5,
                                        feature_loss=FITNET), 32),
    'seg': ('mmseg', SEG_MODEL, 48),
    'seg_fpn': ('mmseg', SEG_FPN_MODEL, 48),
}


@pytest.fixture(scope='module', params=sorted(TWINS))
def twins(request):
    scope, model, size = TWINS[request.param]
    frskd, base = _twins(scope, model)
    return request.param, frskd, base, torch.randn(2, 3, size, size)


def _numel(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_roles_sum_to_the_total(twins):
    name, frskd, base, _ = twins
    for model in (frskd, base):
        params = count_parameters(model)
        assert params['total'] == _numel(model)
        assert params['total'] == (
            params['student'] + params['self_teacher'] +
            params['distill_only'] + params['other_training_only'])
    params = count_parameters(frskd)
    teacher = _numel(frskd.neck)
    if name == 'seg_fpn':
        # The wrapped FPN is the student's (the baseline has it as neck).
        assert _numel(frskd.neck.neck) == _numel(base.neck) > 0
        teacher -= _numel(frskd.neck.neck)
    if name.startswith('seg'):
        teacher += _numel(frskd.decode_head.teacher)
    assert params['self_teacher'] == teacher > 0
    head = frskd.decode_head if name.startswith('seg') else frskd.head
    assert params['distill_only'] == _numel(head.distill)
    assert (params['distill_only'] > 0) == (name == 'cls_fitnet')
    # The student is exactly the baseline model.
    assert params['student'] == count_parameters(base)['total']
    assert count_parameters(base)['self_teacher'] == 0


def test_deployed_frskd_costs_what_its_baseline_costs(twins):
    name, frskd, base, x = twins
    a, b = analyze_model(frskd, x), analyze_model(base, x)
    assert a['flops']['deployed'] == b['flops']['deployed'] > 0
    assert a['params']['deployed'] == b['params']['deployed'] == \
        a['params']['student'] == b['params']['total']
    assert a['flops']['self_teacher'] > 0 == b['flops']['self_teacher']
    assert a['flops']['student_train'] >= a['flops']['deployed']
    # With the self-teacher off, the FRSKD model trains what the baseline
    # trains.
    assert a['flops']['student_train'] == b['flops']['student_train']
    expected = {
        'seg': ['neck', 'decode_head.teacher'],
        'seg_fpn': ['neck.layers', 'decode_head.teacher'],
    }.get(name, ['neck'])
    assert a['flops']['self_teacher_modules'] == expected
    assert b['flops']['self_teacher_modules'] == []
    # The analysis leaves the modes as they were.
    assert not frskd.training and not frskd.neck.training


class _WithAux(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(4, 3)
        self.auxiliary_head = nn.Linear(3, 2)

    def forward(self, x):
        x = self.backbone(x)
        return self.auxiliary_head(x) if self.training else x


def test_auxiliary_heads_are_training_only_and_not_deployed():
    model = _WithAux().eval()
    called = called_modules(model, torch.randn(1, 4))
    assert called == {'', 'backbone'}
    params = count_parameters(model, called)
    assert params == dict(
        total=15 + 8,
        student=15,
        self_teacher=0,
        distill_only=0,
        other_training_only=8,
        deployed=15)


def test_modules_of_keeps_the_outermost():
    model = nn.Sequential(nn.Sequential(nn.Linear(1, 1)), nn.Linear(1, 1))
    assert modules_of(model, (nn.Sequential, )) == ['']
    assert modules_of(model[0], (nn.Linear, )) == ['0']
    assert modules_of(model, (nn.Linear, )) == ['0.0', '1']
