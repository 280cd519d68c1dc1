# Pascal VOC 2012 + SBD aug (10,582 training images: train + aug.txt) with
# 512x512 crops, validated on the 1,449 VOC2012 val images: MMSegmentation's
# pascal_voc12_aug.py unchanged except the dataset type, frskd_mm's
# CheckedPascalVOCDataset (PascalVOCDataset that names the missing folder or
# split file and how to prepare it, instead of a bare AssertionError).
# Expected under data/VOCdevkit/VOC2012 (see MMSegmentation's "Prepare
# datasets", Pascal VOC; SegmentationClassAug and aug.txt come from its
# tools/dataset_converters/voc_aug.py):
#   JPEGImages/*.jpg, SegmentationClass/*.png, SegmentationClassAug/*.png,
#   ImageSets/Segmentation/{train,val,aug}.txt
_base_ = ['mmseg::_base_/datasets/pascal_voc12_aug.py']

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)

dataset_type = 'CheckedPascalVOCDataset'
dataset_train = dict(_base_.dataset_train, type=dataset_type)
dataset_aug = dict(_base_.dataset_aug, type=dataset_type)
train_dataloader = dict(dataset=dict(datasets=[dataset_train, dataset_aug]))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = val_dataloader
