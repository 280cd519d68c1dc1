import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample

from frskd_mm.evaluation import TeacherAccuracy


def test_validation_reports_teacher_beside_student(build_frskd, batch):
    model = build_frskd()
    model.neck.eval_teacher = True
    model.eval()
    inputs, samples = batch
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
        student = model(inputs, mode='tensor')
        teacher_eval = model.neck(model.backbone(inputs)).teacher_logits
    for p, s, t in zip(preds, student.softmax(1), teacher_eval.softmax(1)):
        torch.testing.assert_close(p.pred_score, s)
        torch.testing.assert_close(p.teacher_pred_score, t)

    evaluator = Evaluator(
        [dict(type='Accuracy'),
         dict(type='TeacherAccuracy')])
    evaluator.process(preds)
    metrics = evaluator.evaluate(len(preds))
    labels = torch.tensor([s.gt_label.item() for s in samples])
    expected_t = (teacher_eval.argmax(1) == labels).float().mean() * 100
    expected_s = (student.argmax(1) == labels).float().mean() * 100
    assert metrics['teacher/accuracy/top1'] == pytest.approx(expected_t.item())
    assert metrics['accuracy/top1'] == pytest.approx(expected_s.item())


def test_without_eval_teacher_the_metric_says_what_to_set():
    metric = TeacherAccuracy()
    sample = DataSample().set_gt_label(0).set_pred_score(torch.ones(3) / 3)
    with pytest.raises(KeyError, match='eval_teacher=True'):
        metric.process(None, [sample.to_dict()])
