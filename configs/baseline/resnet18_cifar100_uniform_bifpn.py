# The baseline twin of configs/frskd/resnet18_cifar100_uniform_bifpn.py
# (the self-teacher ablation): the plain ResNet-18 on CIFAR-100, exactly
# resnet18_cifar100.py. The ablation changes only the self-teacher, which
# is not deployed, so both FRSKD variants share this baseline.
_base_ = ['./resnet18_cifar100.py']
