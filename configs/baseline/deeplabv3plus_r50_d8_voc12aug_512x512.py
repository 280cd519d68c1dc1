# DeepLabV3+ ResNet-50-D8 on Pascal VOC 2012 + SBD aug, 512x512 crops,
# without FRSKD: MMSegmentation's
# deeplabv3plus_r50-d8_4xb4-40k_voc12aug-512x512.py (40k iterations at
# batch 16: 4 GPUs x 4 images, tools/dist_train.sh CONFIG 4; SGD lr 0.01,
# poly), keeping its auxiliary FCNHead, on MMSeg's PascalVOCDataset (see
# ../_base_/datasets/voc12aug_512x512.py).
# Weights: none are downloaded (model.pretrained=None), so the backbone
# starts from random initialisation. MMSeg's results start from ImageNet
# weights: add them with
#   --cfg-options model.pretrained=open-mmlab://resnet50_v1c
# (downloaded by MMEngine on first use), or with a local checkpoint path.
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/voc12aug_512x512.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))

auto_scale_lr = dict(enable=False, base_batch_size=16)
# The last checkpoint is the result: the validation split is the one the
# numbers are reported on, so no best checkpoint is picked on it (add
# save_best='mIoU' to keep one; it is then best-on-validation).
default_hooks = dict(checkpoint=dict(max_keep_ckpts=3))
