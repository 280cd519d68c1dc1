# FRSKD on Pascal VOC 2007 + 2012 with EfficientDet-d2: the authors' VOC
# segmentation code with --backbone 2 (alpha 1, beta 50, T 1). Not in the
# paper: no paper number. This file is efficientdet_d0_voc0712_512x512.py
# (FRSKD) with the d2 changes of
# configs/baseline/efficientdet_d2_voc0712_512x512.py: the B2 backbone
# (24/48/88/352-channel taps, padded for its nominal 260x260 input) and
# 112 channels for the decoder, the self-teacher (their BiFPN2 at 112
# channels) and the teacher decoder (their classifier2); a test checks
# that it equals that baseline plus the FRSKD parts, and the
# self-teacher's parameters against the authors' modules.
_base_ = ['./efficientdet_d0_voc0712_512x512.py']

model = dict(
    backbone=dict(arch='b2', same_padding_size=260),
    neck=dict(
        in_channels=[112] * 6,
        neck=dict(in_channels=[24, 48, 88, 352], out_channels=112)),
    decode_head=dict(
        student=dict(in_channels=112), teacher=dict(in_channels=112)))
