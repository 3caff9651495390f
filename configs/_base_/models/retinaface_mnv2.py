# RetinaFace with MobileNetV2 (yakhyo/retinaface-pytorch "mobilenetv2"):
# mmdet's MobileNetV2 (torchvision's layout: ReLU6, BN, no conv bias), the
# outputs of its 32-, 96- and 1280-channel stages (torchvision features 6,
# 13 and 18) at strides 8/16/32; FPN and SSH at 128 channels with ReLU.
_base_ = ['./retinaface_mnet050.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.0,
        out_indices=(2, 4, 7),
        frozen_stages=-1,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='ReLU6'),
        norm_eval=False,
        # the reference starts from torchvision's ImageNet MobileNetV2
        init_cfg=None),
    neck=[
        dict(_base_.model.neck[0], in_channels=[32, 96, 1280]),
        _base_.model.neck[1],
    ])
