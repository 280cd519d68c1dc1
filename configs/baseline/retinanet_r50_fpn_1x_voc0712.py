# RetinaNet ResNet-50 FPN on Pascal VOC 2007 + 2012 (trainval; test: VOC2007
# test, 11-point mAP), without FRSKD: the twin of
# configs/frskd/retinanet_r50_fpn_1x_voc0712.py. MMDetection 3.3.0's config,
# unchanged (the training set repeated 3 times, 4 epochs = MMDetection's
# "1x", batch 16 = 8 GPUs x 2 images, SGD lr 0.01, 1000x600; mAP 77.3 in
# MMDetection's model zoo). Data: data/VOCdevkit/VOC{2007,2012}/
# {Annotations,JPEGImages,ImageSets/Main}, as in MMDetection. Weights: the
# backbone starts from torchvision's ImageNet ResNet-50, downloaded by
# MMEngine on first use; for a random start add --cfg-options
# model.backbone.init_cfg=None.
_base_ = ['mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py']

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)
