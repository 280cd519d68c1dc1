# EfficientDet-d1 segmentation on Pascal VOC 2007 + 2012, 512x512 crops,
# without FRSKD: the paper's VOC segmentation baseline (Ji et al., CVPR
# 2021: 81.95 mIoU; 83.88 with FRSKD, the configs/frskd/ twin). Exactly
# efficientdet_d0_voc0712_512x512.py with the authors' d1 choices: the
# EfficientNet-B1 backbone (tapped after the same blocks: still 24/40/80/
# 320 channels at strides 4/8/16/32) and 88-channel FPN/BiFPN; see that
# file for the data, schedule and ImageNet weights (convert
# efficientnet-b1-f1951068.pth the same way). efficientnet_pytorch pads
# every conv for B1's nominal 240x240 input whatever the input size,
# which pads one conv (the first 192-channel block's stride-2 5x5) by
# (2, 2) where MMPretrain's dynamic 'same' padding at 512x512 uses (1, 2):
# same_padding_size=240 pads as theirs (see TappedEfficientNet).
_base_ = ['./efficientdet_d0_voc0712_512x512.py']

model = dict(
    backbone=dict(arch='b1', same_padding_size=240),
    neck=dict(out_channels=88),
    decode_head=dict(in_channels=88))
