# SLA-SD (self-supervised label augmentation with self-distillation, Lee et
# al., ICML 2020) on CIFAR-100 with WRN-16-2, without FRSKD: the baseline
# twin of configs/frskd/wrn16_2_cifar100_sla.py.
# Exactly ./wrn16_2_cifar100.py with the SLA classifier, which also trains
# on the four rotations of every batch, and the SLA head: the linear
# classifier plus a joint (class, rotation) classifier, distilled into the
# linear one at T 4 with weight 1 (the FRSKD authors' --aux_lamb 1). The
# deployed model is the plain WRN-16-2 (tools/export_student.py).
_base_ = ['./wrn16_2_cifar100.py']

model = dict(
    type='SLAImageClassifier',
    head=dict(type='SLAClsHead', sla_weight=1.0, temperature=4.0))
