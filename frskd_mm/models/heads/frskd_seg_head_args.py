"""Arguments of :class:`FRSKDSegHead`: its nested student head and teacher
config, parsed and checked with errors that name the config keys."""
from typing import Tuple

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS as SEG_MODELS

from ...utils.config_types import config_type_name

EXAMPLE = ("decode_head=dict(type='FRSKDSegHead', "
           "student=dict(type='DepthwiseSeparableASPPHead', in_channels=2048, "
           'in_index=3, channels=512, dilations=(1, 12, 24, 36), '
           'c1_in_channels=256, c1_channels=48, num_classes=21, ...), '
           'teacher=dict(in_channels=<width * c_i of the refined level>, '
           'in_index=0, channels=256), alpha=1.0, beta=50.0, temperature=1.0)')

#: Values of ``kd_pixels``.
KD_PIXELS = ('valid', 'all')

#: Keys of the ``teacher`` config besides ``in_channels`` and ``in_index``.
TEACHER_KEYS = ('channels', 'norm_cfg', 'bias')


def build_student(cfg) -> BaseDecodeHead:
    """Build and check the nested student decode head."""
    if not isinstance(cfg, dict):
        raise TypeError(
            'FRSKDSegHead needs the student decode head as a nested config '
            f'dict, got student={cfg!r}. Write e.g. {EXAMPLE}.')
    head_type = cfg.get('type')
    if head_type is None:
        raise ValueError(
            'FRSKDSegHead.student has no `type`; it must be the config of '
            f'an MMSegmentation decode head, e.g. {EXAMPLE}.')
    name = config_type_name(cfg) or repr(head_type)
    cls = SEG_MODELS.get(head_type) if isinstance(head_type,
                                                  str) else head_type
    if cls is None:
        raise ValueError(
            f'FRSKDSegHead.student type {name!r} is not in MMSegmentation\'s '
            "MODELS registry. Use an MMSeg decode head such as 'FCNHead', "
            "'ASPPHead', 'DepthwiseSeparableASPPHead' or 'UPerHead' (or "
            f'register yours in mmseg.registry.MODELS), e.g. {EXAMPLE}.')
    if not (isinstance(cls, type) and issubclass(cls, BaseDecodeHead)):
        raise TypeError(
            f'FRSKDSegHead.student type {name!r} is not an MMSegmentation '
            'decode head (a subclass of mmseg BaseDecodeHead that outputs '
            'per-pixel logits); FRSKD cannot distil into it. Put the plain '
            f'decode head config there, e.g. {EXAMPLE}.')
    cfg = cfg.copy()
    cfg.setdefault('_scope_', 'mmseg')
    try:
        return SEG_MODELS.build(cfg)
    except Exception as e:
        msg = (f'FRSKDSegHead could not build its student decode head '
               f'{name!r}: {e}')
        try:
            err = type(e)(msg)
        except Exception:  # noqa: BLE001 - exotic exception signatures
            raise RuntimeError(msg) from e
        raise err from e


def check_loss_names(student: BaseDecodeHead) -> None:
    """The student's loss names must not hide the FRSKD terms."""
    losses = student.loss_decode
    if not isinstance(losses, nn.ModuleList):
        losses = [losses]
    names = {getattr(loss, 'loss_name', None) for loss in losses}
    clash = sorted(names & {'loss_teacher', 'loss_kd', 'loss_att'})
    if clash:
        raise ValueError(
            f'The student decode head names its loss(es) {clash}, which '
            'FRSKDSegHead uses for its own terms; choose another loss_name '
            '(e.g. the default loss_ce).')


def parse_teacher(cfg) -> Tuple[int, int, dict]:
    """Split the ``teacher`` config into (in_channels, in_index, kwargs)."""
    if not isinstance(cfg, dict) or 'in_channels' not in cfg:
        raise TypeError(
            'FRSKDSegHead needs teacher=dict(in_channels=<width * c_i of '
            'the refined level>, in_index=0, channels=256) for its teacher '
            f'decoder, got teacher={cfg!r}. Full example: {EXAMPLE}.')
    cfg = dict(cfg)
    in_channels = cfg.pop('in_channels')
    in_index = cfg.pop('in_index', 0)
    unknown = sorted(set(cfg) - set(TEACHER_KEYS))
    if unknown:
        raise TypeError(
            f'Unknown key(s) {unknown} in FRSKDSegHead.teacher; it takes '
            f"in_channels, in_index, {', '.join(TEACHER_KEYS)}.")
    if not isinstance(in_index, int) or isinstance(in_index, bool):
        raise TypeError('FRSKDSegHead teacher in_index must be an int (the '
                        f'refined level to decode), got {in_index!r}.')
    if isinstance(in_channels, (list, tuple)):
        n = len(in_channels)
        if not -n <= in_index < n:
            raise ValueError(
                f'FRSKDSegHead teacher in_index={in_index} is out of range '
                f'for the {n} refined levels with widths {list(in_channels)};'
                ' use 0 (the finest level, as the authors do) to '
                f'{n - 1}.')
        in_channels = in_channels[in_index]
    return in_channels, in_index, cfg
