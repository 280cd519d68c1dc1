# The baseline twin of configs/frskd/resnet18_cifar100_fitnet.py (FRSKD
# with FitNet hints): the plain ResNet-18 on CIFAR-100, exactly
# resnet18_cifar100.py. The feature term is training-only, so every FRSKD
# variant of that config shares this baseline.
_base_ = ['./resnet18_cifar100.py']
