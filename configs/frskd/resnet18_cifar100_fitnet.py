# FRSKD with FitNet hints as the feature term on CIFAR-100 with ResNet-18:
# the authors' `--distill fit` (MingiJi/FRSKD classification/distill_loss/
# FitNet.py; Romero et al., "FitNets", ICLR 2015) instead of attention
# transfer, the alternative feature term of the paper's ablation. Exactly
# resnet18_cifar100.py with feature_loss=FitNetLoss: each student stage
# F_i (after its ReLU) goes through a regressor, 1x1 conv (no bias) - BN -
# ReLU to the self-teacher's width 2 c_i, initialised as theirs (conv
# N(0, 2 / (2 c_i)), BN 1 and 0), and is pulled to the refined T_i (a
# target without gradient) by the mean squared error; the four levels are
# summed and weighted by beta. The authors give no FitNet weight: beta 100
# is their attention weight on CIFAR (the README's --beta 100), not tuned
# here; alpha 2 (soft labels, T 4). The regressors are training-only: the
# deployed student is the plain ResNet-18 (baseline twin:
# configs/baseline/resnet18_cifar100_fitnet.py = resnet18_cifar100.py).
_base_ = ['./resnet18_cifar100.py']

model = dict(
    head=dict(
        feature_loss=dict(
            type='FitNetLoss',
            student_channels=[64, 128, 256, 512],
            teacher_channels=[128, 256, 512, 1024])))
