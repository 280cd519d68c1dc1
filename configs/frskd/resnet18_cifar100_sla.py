# FRSKD + SLA on CIFAR-100 with ResNet-18: the FRSKD authors'
# `--alpha 2 --beta 100 --aux sla --aux_lamb 1` (their classification
# README).
# Exactly ./resnet18_cifar100.py (alpha 2, beta 100, T 4) with the SLA
# classifier, which also runs backbone and self-teacher on the four
# rotations of every batch, and the FRSKD + SLA head: joint (class,
# rotation) classifiers on the student's last stage and on the refined
# T_4 (2 x 512 channels), SLA distillation into the student and the
# self-teacher with weight 1, and FRSKD's distillation on the plain and
# rotated outputs together. Its baseline twin is
# configs/baseline/resnet18_cifar100_sla.py (SLA-SD alone); the deployed
# student is the plain ResNet-18 (tools/export_student.py).
_base_ = ['./resnet18_cifar100.py']

model = dict(
    type='SLAImageClassifier',
    head=dict(
        type='FRSKDSLAClsHead', teacher_in_channels=1024, sla_weight=1.0))
