# RetinaFace with MobileNetV1-0.5 (yakhyo/retinaface-pytorch
# "mobilenetv1_0.50"): FPN and SSH at 128 channels, so their LeakyReLU slope
# is 0 (a ReLU), as in the reference for out_channels > 64.
_base_ = ['./retinaface_mnet025.py']

relu = dict(type='LeakyReLU', negative_slope=0.0)
model = dict(
    backbone=dict(widen_factor=0.5),
    neck=[
        dict(_base_.model.neck[0], in_channels=[128, 256, 512],
             out_channels=128, act_cfg=relu),
        dict(_base_.model.neck[1], in_channels=128, out_channels=128,
             act_cfg=relu),
    ],
    bbox_head=dict(in_channels=128))
