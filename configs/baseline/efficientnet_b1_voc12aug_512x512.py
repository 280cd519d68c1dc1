# EfficientNet-B1 + UPerHead on Pascal VOC 2012 + SBD aug, 512x512 crops,
# without FRSKD: our extension, not the paper's setting (that is
# efficientdet_d1_voc0712_512x512.py: EfficientDet-d1, 81.95 -> 83.88 mIoU
# with FRSKD). Exactly efficientnet_b0_voc12aug_512x512.py with the B1
# backbone (same stage widths, deeper) and UPerHead at EfficientDet-d1's
# BiFPN width (88 channels); see that file for the choices and for
# ImageNet weights.
_base_ = ['./efficientnet_b0_voc12aug_512x512.py']

model = dict(backbone=dict(arch='b1'), decode_head=dict(channels=88))

# EfficientNet's last 1x1 conv (backbone.layers.6, 1280 channels) is built
# but not among out_indices, so it gets no gradient: DDP must allow that.
find_unused_parameters = True
