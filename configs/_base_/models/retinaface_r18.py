# RetinaFace with ResNet-18 (yakhyo/retinaface-pytorch "resnet18"):
# torchvision's layout (mmdet's ResNet, style='pytorch'), outputs of
# layer2/3/4; FPN and SSH at 128 channels with ReLU.
_base_ = ['./retinaface_r50.py', './retinaface_neck128.py']

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=[dict(b, **n) for b, n in zip(_base_.model.neck, _base_.neck_128)],
    bbox_head=dict(in_channels=128))
