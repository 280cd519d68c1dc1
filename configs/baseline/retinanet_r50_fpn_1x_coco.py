# RetinaNet ResNet-50 FPN on COCO 2017, 1x schedule, without FRSKD: the twin
# of configs/frskd/retinanet_r50_fpn_1x_coco.py. MMDetection 3.3.0's config,
# unchanged (12 epochs at batch 16 = 8 GPUs x 2 images, SGD lr 0.01,
# 1333x800, COCO bbox mAP 36.5 in MMDetection's model zoo):
#   tools/dist_train.sh configs/baseline/retinanet_r50_fpn_1x_coco.py 8
# Data: data/coco/{train2017,val2017,annotations/instances_*2017.json}, as
# in MMDetection. Weights: the backbone starts from torchvision's ImageNet
# ResNet-50, downloaded by MMEngine on first use; for a random start (or a
# machine without internet) add --cfg-options model.backbone.init_cfg=None.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py']

custom_imports = dict(imports=['frskd_mm'], allow_failed_imports=False)
