# EfficientDet-d2 segmentation on Pascal VOC 2007 + 2012, 512x512 crops,
# without FRSKD: the authors' third segmentation backbone
# (segmentation/utils/efficientdet.py builds EfficientNet-B2 with a
# 112-channel decoder; main.py --backbone 2). Not in the paper: no paper
# number. Exactly efficientdet_d0_voc0712_512x512.py with the authors' d2
# choices:
# - EfficientNet-B2 (width 1.1, depth 1.2: 23 blocks as B1, so their code
#   takes B1's slicing) tapped after the same blocks (efficientnet_pytorch
#   blocks 2, 5, 8, 22): 24/48/88/352 channels at strides 4/8/16/32;
#   padded for B2's nominal 260x260 input whatever the input size, as
#   efficientnet_pytorch (same_padding_size=260: at 512x512 three strided
#   convs pad differently from MMPretrain's own padding);
# - their FPN/BiFPN and classifier at 112 channels.
# ImageNet weights: convert efficientnet-b2-8bb594d6.pth with
# tools/model_converters/efficientnet_pytorch_to_mmpretrain.py and set
# model.backbone.init_cfg as efficientdet_d0_voc0712_512x512.py says.
_base_ = ['./efficientdet_d0_voc0712_512x512.py']

model = dict(
    backbone=dict(arch='b2', same_padding_size=260),
    neck=dict(in_channels=[24, 48, 88, 352], out_channels=112),
    decode_head=dict(in_channels=112))
