# ResNet-34 on ImageNet-1k without FRSKD: SGD lr 0.1, momentum 0.9, weight
# decay 1e-4, 90 epochs with the lr divided by 10 at epochs 30 and 60.
# Batch 256 in total, as MMPretrain's ImageNet configs: 32 images per GPU on
# 8 GPUs (tools/dist_train.sh CONFIG 8). On another number of GPUs, train
# with --auto-scale-lr (lr scaled from the 256 of auto_scale_lr below) or
# change train_dataloader.batch_size so that GPUs x batch_size = 256.
_base_ = [
    'mmpretrain::_base_/models/resnet34.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]

# Only MMPretrain modules here; frskd_mm is imported for the FRSKD twin, which
# inherits this config (see configs/_base_/frskd_runtime.py).
custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

# Initialisation as the authors' (their classification/models/resnet.py):
# Kaiming normal (fan-out) convs and unit BNs are MMPretrain's too;
# MMPretrain's zero-initialised last BN of each residual block is off
# (zero_init_residual=False), and the classifier keeps nn.Linear's PyTorch
# default init (weight and bias uniform in +-1/sqrt(fan_in)): head
# init_cfg=None instead of MMPretrain's N(0, 0.01).
model = dict(backbone=dict(zero_init_residual=False), head=dict(init_cfg=None))

param_scheduler = dict(milestones=[30, 60])
train_cfg = dict(max_epochs=90)

# The last epoch's checkpoint is the result (the validation split is the
# one the accuracy is reported on): no best checkpoint is picked on it. To
# keep one, add --cfg-options default_hooks.checkpoint.save_best=auto; its
# accuracy is then best-on-validation, not a held-out estimate.
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(max_keep_ckpts=3))
