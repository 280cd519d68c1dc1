"""The self-teacher's own random stream: an FRSKD model's student starts
from the baseline's weights, bit for bit, for every task."""
import torch
from mmengine.config import Config

from frskd_mm.models.utils.teacher_rng import teacher_rng
from frskd_mm.registry import MODELS


def _built(cfg: dict, seed: int = 3, registry=MODELS):
    torch.manual_seed(seed)
    model = registry.build(cfg)
    model.init_weights()
    return model


def _student_state(model, skip=('neck.layers.', 'neck.fc.', 'teacher.')):
    return {
        k: v
        for k, v in model.state_dict().items()
        if not any(s in k for s in skip) and 'distill' not in k
    }


def test_teacher_rng_leaves_the_global_stream_where_it_was():
    torch.manual_seed(5)
    with teacher_rng():
        inside = torch.rand(3)
    after = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(torch.rand(3), after)
    assert not torch.equal(inside, after)
    torch.manual_seed(5)
    with teacher_rng():
        assert torch.equal(torch.rand(3), inside)  # its own, seeded stream


def test_the_classifiers_student_starts_as_its_baseline():
    frskd = Config.fromfile('configs/frskd/wrn16_2_cifar100.py').model
    base = Config.fromfile('configs/baseline/wrn16_2_cifar100.py').model
    f = _student_state(_built(frskd))
    b = _built(base).state_dict()
    assert set(b) <= set(f)
    for key, value in b.items():
        torch.testing.assert_close(f[key], value, rtol=0, atol=0, msg=key)


def test_the_segmentors_student_starts_as_its_baseline():
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS as SEG_MODELS
    frskd = Config.fromfile('configs/demo/frskd_seg_digits.py').model
    base = Config.fromfile('configs/demo/baseline_seg_digits.py').model
    with DefaultScope.overwrite_default_scope('mmseg'):
        f = _built(frskd, registry=SEG_MODELS)
        b = _built(base, registry=SEG_MODELS).state_dict()
    student = {
        k.replace('decode_head.student.', 'decode_head.'): v
        for k, v in _student_state(f).items()
    }
    assert set(b) <= set(student)
    for key, value in b.items():
        torch.testing.assert_close(
            student[key], value, rtol=0, atol=0, msg=key)


def test_the_detectors_student_starts_as_its_baseline():
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.registry import DefaultScope
    frskd = Config.fromfile('configs/demo/frskd_det_digits.py').model
    base = Config.fromfile('configs/demo/baseline_det_digits.py').model
    with DefaultScope.overwrite_default_scope('mmdet'):
        f = _built(frskd, registry=DET_MODELS)
        b = _built(base, registry=DET_MODELS).state_dict()
    student = {
        k.replace('bbox_head.student.', 'bbox_head.').replace(
            'neck.neck.', 'neck.'):
        v
        for k, v in _student_state(f).items()
    }
    assert set(b) <= set(student)
    for key, value in b.items():
        torch.testing.assert_close(
            student[key], value, rtol=0, atol=0, msg=key)
