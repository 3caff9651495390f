# RetinaFace with MobileNetV1 at full width (yakhyo/retinaface-pytorch
# "mobilenetv1"): FPN and SSH at 128 channels with ReLU.
_base_ = ['./retinaface_mnet050.py']

model = dict(
    backbone=dict(widen_factor=1.0),
    neck=[
        dict(_base_.model.neck[0], in_channels=[256, 512, 1024]),
        _base_.model.neck[1],
    ])
