# Pascal VOC 2007 + 2012 segmentation, 512x512 crops: the data of the
# paper's VOC segmentation experiment (Ji et al., CVPR 2021; the authors'
# segmentation/main.py and utils/dataset.py). Training reads the
# ImageSets/Segmentation/trainval.txt lists of VOC2007 (422 images) and
# VOC2012 (2,913), one after the other as the authors concatenate them
# (an image listed in both is read twice per epoch, as theirs); validation
# and test read the 210 VOC2007 ImageSets/Segmentation/test.txt images.
# 21 classes (background + 20), 255 = ignored (object borders). Only the
# original SegmentationClass labels: no SBD (unlike ./voc12aug_512x512.py).
# Expected under data/VOCdevkit (the VOC2007 trainval and test archives
# and the VOC2012 trainval archive all extract into VOCdevkit/):
#   VOC2007/JPEGImages/*.jpg, VOC2007/SegmentationClass/*.png,
#   VOC2007/ImageSets/Segmentation/{trainval,test}.txt,
#   VOC2012/JPEGImages/*.jpg, VOC2012/SegmentationClass/*.png,
#   VOC2012/ImageSets/Segmentation/trainval.txt
# The tools check this layout before the run; point every dataset at
# another VOCdevkit with --cfg-options
#   train_dataloader.dataset.datasets.0.data_root=DIR
#   train_dataloader.dataset.datasets.1.data_root=DIR
#   val_dataloader.dataset.data_root=DIR test_dataloader.dataset.data_root=DIR
#
# Training pipeline, the authors' in their order (utils/
# custom_transform_seg.py: RandomHorizontalFlip, RandomScaleCrop(base 512,
# crop 512, fill 0), RandomGaussianBlur, Normalize):
# - horizontal flip, p = 0.5;
# - short side scaled to an integer drawn uniformly from [256, 1024],
#   keeping the aspect ratio: RandomResize with the scale range
#   (long_edge_bound, 256)..(long_edge_bound, 1024) draws both edges as
#   integers (np.random.randint, bounds included, as their random.randint)
#   and keep_ratio=True resizes by min(long bound / long side, short /
#   short side): with a long-edge bound no image reaches, the short side
#   is exactly the drawn size. Their long side is int() of the exact size
#   (truncated), MMCV's is rounded: up to 1 pixel longer. PIL bilinear for
#   the image and nearest for the label (backend='pillow'), as theirs;
# - random 512x512 crop (MMSeg's RandomCrop, cat_max_ratio 1 = no retry);
#   an image smaller than 512 keeps its size there;
# - pad right/bottom to 512x512 with image value 0 (black, before
#   normalisation) and label 0: the authors fill the label with 0, i.e.
#   the padding is trained as background, not ignored (MMSeg's usual 255).
#   They pad before cropping; padding the smaller side after the crop gives
#   the same crops (the padded side is exactly 512, so its offset is 0).
#   SegDataPreProcessor's pad (data_preprocessor size/seg_pad_val in the
#   model configs, also label 0) then has nothing left to pad; its image
#   fill would act after normalisation (0 = the mean colour, not black);
# - Gaussian blur with p = 0.5 and radius uniform in [0, 1) (PIL
#   ImageFilter.GaussianBlur, image only): MMPretrain's GaussianBlur with
#   magnitude_range=(0, 1) and magnitude_std='inf' draws the radius as
#   uniform(0, magnitude_level 10) / total_level 10 * (1 - 0) = uniform(0, 1);
# - normalise with the ImageNet mean/std in RGB: the model configs'
#   SegDataPreProcessor (bgr_to_rgb=True, mean 255 x (0.485, 0.456, 0.406),
#   std 255 x (0.229, 0.224, 0.225)).
# Images are decoded with PIL (imdecode_backend='pillow') as theirs; labels
# are palette PNGs read as indices by MMSeg's LoadAnnotations (PIL).
#
# Validation/test: the image is resized to 512x512 ignoring its aspect
# ratio (PIL bilinear), as theirs (FixedResize(512)), and, as theirs, the
# label too (nearest): EvalResize(label_size='resized') keeps the
# prediction at 512x512 (the logits upsampled bilinearly to the input
# size, align_corners=False, as their F.upsample) and IoUMetric scores it
# against the resized label. That is the protocol of the paper's VOC
# numbers. MMSeg's usual protocol, the prediction resized back to the
# original image and scored on the original label, is one option away:
#   --cfg-options test_dataloader.dataset.pipeline.2.label_size=original
# (and val_dataloader.dataset.pipeline.2.label_size=original for the
# per-epoch validation). Both accumulate one confusion matrix over the
# whole test set, skip label 255 and average the per-class IoU over the
# classes present (nan-mean); the values are close but not identical.
# FWIoUMetric logs the frequency-weighted IoU of their evaluator beside
# mIoU. Their validation batch is 16, ours 1: no effect on the results (BN
# in eval mode).
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit'
crop_size = (512, 512)
# Long-edge bound of the short-side resize: larger than any resized VOC
# image (at most 500 px long, short side >= ~100 px, scaled to <= 1024).
long_edge_bound = 1 << 16
train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandomResize',
        scale=[(long_edge_bound, 256), (long_edge_bound, 1024)],
        keep_ratio=True,
        backend='pillow'),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=0)),
    dict(
        type='mmpretrain.GaussianBlur',
        magnitude_range=(0, 1),
        magnitude_std='inf',
        prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='LoadAnnotations'),
    # label_size='resized': the authors' scoring at 512x512 (see above);
    # 'original': MMSeg's, on the original labels.
    dict(
        type='EvalResize',
        scale=crop_size,
        label_size='resized',
        backend='pillow'),
    dict(type='PackSegInputs')
]


def voc_split(year: str, split: str, pipeline: list) -> dict:
    """One year's segmentation split under the VOCdevkit root."""
    return dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path=f'VOC{year}/JPEGImages',
            seg_map_path=f'VOC{year}/SegmentationClass'),
        ann_file=f'VOC{year}/ImageSets/Segmentation/{split}.txt',
        pipeline=pipeline)


# Batch 16 on one GPU, reshuffled every epoch, the last incomplete batch
# dropped (drop_last=True), as the authors' DataLoader.
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            voc_split('2007', 'trainval', train_pipeline),
            voc_split('2012', 'trainval', train_pipeline),
        ]))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=voc_split('2007', 'test', test_pipeline))
test_dataloader = val_dataloader

# MMSeg's IoUMetric (aAcc, mIoU) plus the authors' frequency-weighted IoU.
val_evaluator = dict(type='FWIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# The function is only a helper of this file: not a config key.
del voc_split
