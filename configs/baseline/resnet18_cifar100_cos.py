# ResNet-18 on CIFAR-100 without FRSKD (resnet18_cifar100.py; the twin of
# ../frskd/resnet18_cifar100_cos.py) with the cosine learning-rate schedule
# of the authors' classification script (main.py --scheduler cos:
# PyTorch's CosineAnnealingLR with T_max = the 200 epochs, stepped once per
# epoch, down to 0) instead of the step schedule (x0.1 at epochs 100 and
# 150). Everything else is resnet18_cifar100.py.
_base_ = ['./resnet18_cifar100.py']

param_scheduler = dict(
    _delete_=True,
    type='CosineAnnealingLR',
    by_epoch=True,
    T_max=200,
    eta_min=0,
    begin=0,
    end=200)
