# RetinaFace with ResNet-18 (yakhyo/retinaface-pytorch "resnet18"):
# torchvision's layout (mmdet's ResNet, style='pytorch'), outputs of
# layer2/3/4; FPN and SSH at 128 channels with ReLU.
_base_ = ['./retinaface_r50.py']

relu = dict(type='LeakyReLU', negative_slope=0.0)
model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet18')),
    neck=[
        dict(_base_.model.neck[0], in_channels=[128, 256, 512],
             out_channels=128, act_cfg=relu),
        dict(_base_.model.neck[1], in_channels=128, out_channels=128,
             act_cfg=relu),
    ],
    bbox_head=dict(in_channels=128))
