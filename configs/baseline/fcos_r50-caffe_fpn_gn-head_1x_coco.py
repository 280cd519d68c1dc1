# FCOS ResNet-50 (caffe style) FPN with a GN head on COCO 2017, 1x schedule,
# without FRSKD: the twin of configs/frskd/fcos_r50-caffe_fpn_gn-head_1x_coco
# .py. MMDetection 3.3.0's config, unchanged (12 epochs at batch 16 = 8 GPUs
# x 2 images, SGD lr 0.01, 1333x800, COCO bbox mAP 36.6 in MMDetection's
# model zoo). Data as in MMDetection (data/coco/). Weights: the backbone
# starts from Detectron's ImageNet ResNet-50 (caffe), downloaded by MMEngine
# on first use; for a random start add --cfg-options
# model.backbone.init_cfg=None.
_base_ = ['mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py']

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)
