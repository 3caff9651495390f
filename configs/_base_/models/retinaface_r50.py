# RetinaFace with ResNet-50 (biubug6/Pytorch_Retinaface "resnet50").
_base_ = ['./retinaface_mnet025.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(1, 2, 3),
        # the reference trains every layer with BN in train mode
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        # the reference starts from torchvision's ImageNet ResNet-50
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet50')),
    neck=[
        dict(
            type='RetinaFaceFPN',
            in_channels=[512, 1024, 2048],
            out_channels=256,
            norm_cfg=dict(type='BN'),
            # the reference: LeakyReLU slope 0 (a ReLU) when out > 64
            act_cfg=dict(type='LeakyReLU', negative_slope=0.0)),
        dict(
            type='FaceSSH',
            num_levels=3,
            in_channels=256,
            out_channels=256,
            norm_cfg=dict(type='BN'),
            act_cfg=dict(type='LeakyReLU', negative_slope=0.0)),
    ],
    bbox_head=dict(in_channels=256))
