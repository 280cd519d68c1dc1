# FRSKD on Pascal VOC 2007 + 2012 with EfficientDet-d0: the paper's VOC
# segmentation setting (Ji et al., CVPR 2021: 79.07 -> 80.55 mIoU), after
# the authors' segmentation/main.py (alpha 1, beta 50, T 1; the README's
# --batch_size 16). Exactly
# configs/baseline/efficientdet_d0_voc0712_512x512.py plus:
# - the self-teacher: FRSKDNeck wraps the baseline's neck (SegBiFPN, the
#   student's FPN + 3 BiFPN layers, deployed unchanged) and refines its six
#   outputs P2..P7 with 2 more BiFPN layers of the same width (their
#   BiFPN2: SegBiFPNLayer, width 1 = 64 channels, the last layer top-down
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
_base_ = ['../baseline/efficientdet_d0_voc0712_512x512.py']

model = dict(
    neck=dict(
        _delete_=True,
        type='FRSKDNeck',
        # The baseline's neck, unchanged: the student's decoder.
        neck=_base_.model.neck,
        in_channels=[64] * 6,
        width=1,
        num_layers=2,
        layer_cfg=dict(type='SegBiFPNLayer'),
        last_layer_top_down_only=True,
        norm_cfg=dict(type='BN')),
    decode_head=dict(
        _delete_=True,
        type='FRSKDSegHead',
        # The baseline's decode head, unchanged.
        student=_base_.model.decode_head,
        teacher=dict(
            in_channels=64,
            in_index=0,
            channels=256,
            bias=True,
            norm_cfg=dict(type='BN', eps=1e-4, momentum=0.997)),
        alpha=1.0,
        beta=50.0,
        temperature=1.0,
        feature_loss=dict(type='AttentionTransferLoss'),
        teacher_loss_weight=1.0,
        kd_pixels='all'))

custom_hooks = [
    dict(
        type='FRSKDHook',
        by_epoch=True,
        warmup=40,
        ramp=20,
        ramp_type='sigmoid',
        epoch_steps=True)
]

# The self-teacher reads every output of the inner neck (the last BiFPN
# layer's bottom-up path included, idle in the baseline): no parameter is
# left without gradient, so DDP need not search for unused ones.
find_unused_parameters = False
