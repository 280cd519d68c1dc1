# Pascal VOC 2012 + SBD aug (10,582 training images: train + aug.txt) with
# 512x512 crops, validated on the 1,449 VOC2012 val images: MMSegmentation's
# pascal_voc12_aug.py unchanged (PascalVOCDataset). The tools check the
# layout before the run and name the missing folder or split file and how to
# prepare it. Expected under data/VOCdevkit/VOC2012 (see MMSegmentation's
# "Prepare datasets", Pascal VOC; SegmentationClassAug and aug.txt come from
# its tools/dataset_converters/voc_aug.py):
#   JPEGImages/*.jpg, SegmentationClass/*.png, SegmentationClassAug/*.png,
#   ImageSets/Segmentation/{train,val,aug}.txt
_base_ = ['mmseg::_base_/datasets/pascal_voc12_aug.py']

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)
