"""The paper's VOC configs have the authors' decoder and self-teacher,
parameter for parameter.

The expected counts are written from the module definitions of the authors'
segmentation code (MingiJi/FRSKD, ``segmentation/utils/efficientdet.py``
and ``segmentation/utils/BiFPN.py``), with C the decoder width (64 for
EfficientDet-d0, 88 for d1, 112 for d2) and 21 VOC classes:

- ``BiFPNSeg`` node (``conv*up``/``conv*dw``): depthwise 1x1
  ``Conv2d(C, C, groups=C)`` with bias (C + C) and ``BatchNorm2d(C)``
  (2C): 4C. A full layer has 11 nodes (6 up, 5 down), the last
  (``is_last=True``) 6;
- ``classifier1``/``classifier2``: ``Conv2d(C, 256, 3)`` with bias,
  ``BatchNorm2d(256)``, ``Conv2d(256, 21, 3)`` with bias;
- ``EfficientDet.Conv``: conv with bias + ``BatchNorm2d``: ``conv6``
  (3x3, C5 -> C), ``conv7`` (3x3, C -> C), ``toplayer`` (1x1, C5 -> C),
  ``latlayer1..3`` (1x1, C4/C3/C2 -> C); ``smooth1``/``smooth2`` are built
  but never called by their forward, so they are not part of the network.

Their self-teacher is ``BiFPN2`` (a full and a last ``BiFPNSeg``) plus
``classifier2``; the student's decoder is the FPN, ``BiFPN1`` (three full
layers) and ``classifier1``.
"""
import os.path as osp

import pytest
from config_files import CONFIG_DIR, load
from mmengine.registry import init_default_scope

from frskd_mm.apis import init_model

#: Decoder width C and the tapped backbone channels C2..C5 (efficientnet
#: blocks 1/3/5/15 of B0, 2/5/8/22 of B1 and B2: 24/40/80/320 for B0 and
#: B1, 24/48/88/352 for B2; their outc_candi: 64, 88, 112).
ARCHS = {
    'd0': (64, (24, 40, 80, 320)),
    'd1': (88, (24, 40, 80, 320)),
    'd2': (112, (24, 48, 88, 352))
}


def node(c):
    return c + c + 2 * c


def classifier(c, num_classes=21):
    return 9 * c * 256 + 256 + 2 * 256 + 9 * 256 * num_classes + num_classes


def conv_bn(cin, cout, k):
    return k * k * cin * cout + cout + 2 * cout


def authors_self_teacher(c):
    return 11 * node(c) + 6 * node(c) + classifier(c)


def authors_student_decoder(c, stages):
    c2, c3, c4, c5 = stages
    fpn = (
        conv_bn(c5, c, 3) + conv_bn(c, c, 3) + conv_bn(c5, c, 1) +
        conv_bn(c4, c, 1) + conv_bn(c3, c, 1) + conv_bn(c2, c, 1))
    return fpn + 3 * 11 * node(c) + classifier(c)


def _numel(module):
    return sum(p.numel() for p in module.parameters())


def test_counts_of_the_authors_modules():
    # Spelled out once for d0 (C = 64).
    assert authors_self_teacher(64) == 2816 + 1536 + 196629 == 200981
    assert authors_student_decoder(64, ARCHS['d0'][1]) == \
        252032 + 8448 + 196629
    # d2 (C = 112): BiFPN2 is 17 nodes of 4 x 112, classifier2 is
    # 9 x 112 x 256 + 256 + 512 + 9 x 256 x 21 + 21.
    assert authors_self_teacher(112) == 7616 + 307221 == 314837


@pytest.mark.parametrize('arch', sorted(ARCHS))
def test_self_teacher_and_decoder_have_the_authors_parameters(arch):
    c, stages = ARCHS[arch]
    cfg = load(
        osp.join(CONFIG_DIR, 'frskd',
                 f'efficientdet_{arch}_voc0712_512x512.py'))
    try:
        model = init_model(cfg, seed=0)
    finally:
        init_default_scope('mmpretrain')  # as conftest left it
    neck, head = model.neck, model.decode_head
    self_teacher = _numel(neck.layers) + _numel(head.teacher)
    assert self_teacher == authors_self_teacher(c)
    assert _numel(neck) - _numel(neck.layers) == _numel(neck.neck)
    assert _numel(neck.neck) + _numel(head.student) == \
        authors_student_decoder(c, stages)
    assert tuple(model.backbone.tap_channels) == stages
