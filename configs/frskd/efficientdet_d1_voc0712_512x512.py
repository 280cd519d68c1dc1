# FRSKD on Pascal VOC 2007 + 2012 with EfficientDet-d1: the paper's VOC
# segmentation setting (Ji et al., CVPR 2021: 81.95 -> 83.88 mIoU), after
# the authors' segmentation/main.py (alpha 1, beta 50, T 1; the README's
# --batch_size 16). Exactly
# configs/baseline/efficientdet_d1_voc0712_512x512.py plus:
# - the self-teacher: FRSKDNeck wraps the baseline's neck (SegBiFPN, the
#   student's FPN + 3 BiFPN layers, deployed unchanged) and refines its six
#   outputs P2..P7 with 2 more BiFPN layers of the same width (their
#   BiFPN2: SegBiFPNLayer, width 1 = 88 channels, the last layer top-down
#   only); in eval mode only the inner neck runs (the baseline's cost);
# - FRSKDSegHead: the baseline's head as the student (their classifier1)
#   and the teacher decoder on the refined P2 (their classifier2: 3x3 conv
#   with bias - BN eps 1e-4, momentum 0.997 - ReLU - 3x3 conv). Losses, as
#   theirs: CE(student) + CE(teacher), both averaged over the non-ignored
#   pixels, + beta x attention transfer over all six levels (inner-neck
#   outputs vs refined, targets detached) + alpha x KL(teacher || student)
#   at T = 1 summed over every pixel and divided by N*H*W, ignored (255)
#   pixels included (kd_pixels='all', their DistillKL);
# - FRSKDHook: alpha and beta are 0 while epoch < 40, then from epoch 40
#   on held for the whole epoch at exp(-5 (1 - (epoch + 1 - 40) / 20)^2)
#   (epoch_steps=True; their sigmoid_rampup(epoch + 1 - warmup, 60 -
#   warmup) with warmup 40): 0.011 at epoch 40, ..., 1 at epoch 59. The
#   teacher's CE is on from the start, as theirs.
# tools/export_student.py writes the plain student (the baseline's model:
# backbone, SegBiFPN, SegBiFPNHead).
# This file is efficientdet_d0_voc0712_512x512.py (FRSKD) with the d1
# changes of configs/baseline/efficientdet_d1_voc0712_512x512.py: the
# B1 backbone (padded for its nominal 240x240 input, as theirs) and 88
# channels for the decoder, the self-teacher and the teacher decoder (a
# test checks that it equals that baseline plus the FRSKD parts).
_base_ = ['./efficientdet_d0_voc0712_512x512.py']

model = dict(
    backbone=dict(arch='b1', same_padding_size=240),
    neck=dict(in_channels=[88] * 6, neck=dict(out_channels=88)),
    decode_head=dict(
        student=dict(in_channels=88), teacher=dict(in_channels=88)))
