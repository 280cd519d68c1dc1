"""Top-k accuracy of the self-teacher, logged beside the student's."""
from typing import Optional, Sequence

from mmpretrain.evaluation import Accuracy

from frskd_mm.registry import METRICS


@METRICS.register_module()
class TeacherAccuracy(Accuracy):
    """MMPretrain's ``Accuracy`` computed on the self-teacher's predictions.

    Needs ``FRSKDNeck(eval_teacher=True)``, which makes the neck run the
    self-teacher in eval mode and :class:`FRSKDClsHead` store its scores as
    ``teacher_pred_score``. Results are logged as
    ``teacher/accuracy/top1`` etc. Enable it with::

        model = dict(neck=dict(eval_teacher=True))
        val_evaluator = [dict(type='Accuracy', topk=(1, )),
                         dict(type='TeacherAccuracy', topk=(1, ))]

    Args:
        topk (int | Sequence[int]): As in ``Accuracy``.
        prefix (str, optional): Defaults to ``'teacher/accuracy'``.
        **kwargs: Other arguments of ``Accuracy``.
    """

    default_prefix: Optional[str] = 'teacher/accuracy'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            if 'teacher_pred_score' not in data_sample:
                raise KeyError(
                    'TeacherAccuracy found no teacher prediction: set '
                    'model.neck.eval_teacher=True so the self-teacher runs '
                    'during validation.')
            self.results.append(
                dict(
                    pred_score=data_sample['teacher_pred_score'].cpu(),
                    gt_label=data_sample['gt_label'].cpu()))
