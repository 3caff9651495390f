# RetinaFace with ResNet-34 (yakhyo/retinaface-pytorch "resnet34"): as
# ResNet-18 with 3/4/6/3 basic blocks.
_base_ = ['./retinaface_r18.py']

model = dict(
    backbone=dict(
        depth=34,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet34')))
