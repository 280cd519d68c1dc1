# FRSKD + SLA on CIFAR-100 with WRN-16-2, as the FRSKD authors'
# `--alpha 2 --beta 100 --aux sla --aux_lamb 1` with --model wrn16x2.
# Exactly ./wrn16_2_cifar100.py (alpha 2, beta 100, T 4) with the SLA
# classifier, which also runs backbone and self-teacher on the four
# rotations of every batch, and the FRSKD + SLA head: joint (class,
# rotation) classifiers on the student's last stage and on the refined
# T_3 (2 x 128 channels), SLA distillation into the student and the
# self-teacher with weight 1, and FRSKD's distillation on the plain and
# rotated outputs together. Its baseline twin is
# configs/baseline/wrn16_2_cifar100_sla.py (SLA-SD alone); the deployed
# student is the plain WRN-16-2 (tools/export_student.py).
_base_ = ['./wrn16_2_cifar100.py']

model = dict(
    type='SLAImageClassifier',
    head=dict(type='FRSKDSLAClsHead', teacher_in_channels=256, sla_weight=1.0))
