# RetinaFace with MobileNetV1-0.5 (yakhyo/retinaface-pytorch
# "mobilenetv1_0.50"): FPN and SSH at 128 channels with ReLU.
_base_ = ['./retinaface_mnet025.py', './retinaface_neck128.py']

model = dict(
    backbone=dict(widen_factor=0.5),
    neck=[dict(b, **n) for b, n in zip(_base_.model.neck, _base_.neck_128)],
    bbox_head=dict(in_channels=128))
