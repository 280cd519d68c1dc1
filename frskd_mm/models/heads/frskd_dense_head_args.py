"""Arguments of :class:`FRSKDDenseHead`: its student dense head and the
teacher's copy, built and checked with errors that name the config keys;
and the per-prior views of a dense head's outputs."""
import copy
from typing import Dict, List, Optional, Sequence

import torch
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.registry import MODELS as DET_MODELS
from torch import Tensor

EXAMPLE = ("bbox_head=dict(type='FRSKDDenseHead', student=dict("
           "type='RetinaHead', num_classes=80, in_channels=256, ...), "
           'alpha=1.0, beta=50.0, temperature=1.0)')

#: What FRSKD supports, for messages.
SUPPORTED = ('MMDetection dense heads with sigmoid classification and a '
             'prior generator: RetinaHead, FCOSHead, ATSSHead (as '
             'model.bbox_head), RPNHead (as model.rpn_head of a two-stage '
             'detector)')

#: The loss names of FRSKD's own terms.
FRSKD_TERMS = ('loss_kd', 'loss_att')


def student_config(cfg,
                   train_cfg=None,
                   test_cfg=None,
                   num_classes: Optional[int] = None) -> dict:
    """The student head's config with what the detector passes to its head
    (``train_cfg``, ``test_cfg``; a two-stage detector also sets the RPN's
    ``num_classes``), checked to be a dense head."""
    if not isinstance(cfg, dict) or cfg.get('type') is None:
        raise TypeError(
            'FRSKDDenseHead needs the detector\'s dense head as a nested '
            f'config dict with a type, got student={cfg!r}. Write e.g. '
            f'{EXAMPLE}.')
    cfg = copy.deepcopy(dict(cfg))
    if train_cfg is not None:
        cfg['train_cfg'] = train_cfg
    if test_cfg is not None:
        cfg['test_cfg'] = test_cfg
    if num_classes is not None:
        cfg['num_classes'] = num_classes
    head_type = cfg['type']
    name = head_type if isinstance(head_type, str) else getattr(
        head_type, '__name__', repr(head_type))
    cls = DET_MODELS.get(head_type) if isinstance(head_type,
                                                  str) else head_type
    if cls is None:
        raise ValueError(
            f'FRSKDDenseHead.student type {name!r} is not in MMDetection\'s '
            f'MODELS registry. FRSKD supports {SUPPORTED}.')
    if not (isinstance(cls, type) and issubclass(cls, BaseDenseHead)):
        raise TypeError(
            f'FRSKDDenseHead.student type {name!r} is not an MMDetection '
            'dense head (a subclass of BaseDenseHead that scores every '
            'prior of every FPN level); FRSKD cannot distil it prior by '
            f'prior. It supports {SUPPORTED}. Two-stage detectors: put '
            'FRSKDDenseHead in model.rpn_head, not in the RoI head.')
    cfg.setdefault('_scope_', 'mmdet')
    return cfg


def teacher_config(student: dict, overrides: Optional[dict]) -> dict:
    """The teacher head's config: the student's, with ``overrides`` (e.g.
    ``in_channels`` of the refined levels, a lighter ``stacked_convs``)."""
    cfg = copy.deepcopy(student)
    if overrides is None:
        return cfg
    if not isinstance(overrides, dict):
        raise TypeError(
            'FRSKDDenseHead.teacher must be a dict of keys of the head config'
            " that differ for the teacher (e.g. dict(in_channels=256, "
            f'stacked_convs=2)), or None; got {overrides!r}.')
    overrides = dict(overrides)
    if 'type' in overrides and overrides['type'] != student['type']:
        raise ValueError(
            f"FRSKDDenseHead.teacher.type={overrides['type']!r} but the "
            f"student is {student['type']!r}: the teacher is a copy of the "
            'student head (its outputs are compared prior by prior). '
            'Remove teacher.type.')
    classes = overrides.get('num_classes', student.get('num_classes'))
    if classes != student.get('num_classes'):
        raise ValueError(
            f'FRSKDDenseHead.teacher.num_classes={classes} but the detector '
            f"head (student) has num_classes={student.get('num_classes')}; "
            'the soft-label term compares their class scores one to one. '
            'Remove teacher.num_classes (the teacher takes the student\'s).')
    cfg.update(overrides)
    return cfg


def build_dense_head(cfg: dict, role: str) -> BaseDenseHead:
    """Build the student (``role='student'``) or teacher head and check that
    it fits FRSKD: sigmoid classification and a prior generator."""
    try:
        head = DET_MODELS.build(cfg)
    except Exception as e:
        msg = f'FRSKDDenseHead could not build its {role} head: {e}'
        try:
            err = type(e)(msg)
        except Exception:  # noqa: BLE001 - exotic exception signatures
            raise RuntimeError(msg) from e
        raise err from e
    name = type(head).__name__
    if not getattr(head, 'use_sigmoid_cls', False):
        raise ValueError(
            f'FRSKDDenseHead.{role} is {name} without sigmoid '
            'classification (use_sigmoid_cls is False, e.g. SSDHead\'s '
            'softmax): the soft-label term compares per-class sigmoid '
            f'scores (binary KL). FRSKD supports {SUPPORTED}; set '
            'loss_cls=dict(..., use_sigmoid=True) if the head allows it.')
    generator = getattr(head, 'prior_generator', None)
    if generator is None or not hasattr(generator, 'valid_flags'):
        raise ValueError(
            f'FRSKDDenseHead.{role} is {name}, which has no prior generator '
            '(anchors or points) to align the student\'s and the teacher\'s '
            f'outputs with; FRSKD supports {SUPPORTED}.')
    return head


def teacher_terms(losses: Dict, weight: float) -> Dict:
    """The teacher head's loss dict renamed (``loss_cls`` ->
    ``loss_teacher_cls``; other keys get a ``teacher_`` prefix) and its
    losses scaled by ``weight`` (lists per level stay lists)."""
    terms = {}
    for key, value in losses.items():
        if key.startswith('loss'):
            name = 'loss_teacher' + key[len('loss'):]
            if isinstance(value, (list, tuple)):
                value = [v * weight for v in value]
            else:
                value = value * weight
        else:
            name = 'teacher_' + key
        terms[name] = value
    return terms


def check_loss_names(losses: Dict) -> None:
    """The student's loss names must not hide FRSKD's terms."""
    clash = sorted(
        k for k in losses if k in FRSKD_TERMS or k.startswith('loss_teacher'))
    if clash:
        raise ValueError(
            f'The student head returns losses named {clash}, which '
            'FRSKDDenseHead uses for its own terms; rename them in the '
            'head.')


def per_prior_scores(cls_scores: Sequence[Tensor], channels: int) -> Tensor:
    """Class logits per prior: level i (N, A * C, H_i, W_i) -> (N, P, C),
    priors in MMDetection's order (level, y, x, anchor)."""
    return torch.cat([
        s.permute(0, 2, 3, 1).reshape(s.shape[0], -1, channels)
        for s in cls_scores
    ],
                     dim=1)


def valid_priors(prior_generator, featmap_sizes: List, img_metas: List[dict],
                 device) -> Tensor:
    """(N, P) bool: the priors of each image that MMDetection's losses count
    (``valid_flags`` of the image's ``pad_shape``; priors in the padding of
    a batch of differently sized images are out)."""
    flags = []
    for meta in img_metas:
        shape = meta.get('pad_shape', meta.get('img_shape'))
        flags.append(
            torch.cat(
                prior_generator.valid_flags(featmap_sizes, shape[:2], device)))
    return torch.stack(flags)
