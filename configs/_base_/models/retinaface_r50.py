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
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    # the base's FPN and SSH at 256 channels; the reference's LeakyReLU
    # slope is 0 (a ReLU) when out_channels > 64
    neck=[
        dict(
            _base_.model.neck[0],
            in_channels=[512, 1024, 2048],
            out_channels=256,
            act_cfg=dict(type='LeakyReLU', negative_slope=0.0)),
        dict(
            _base_.model.neck[1],
            in_channels=256,
            out_channels=256,
            act_cfg=dict(type='LeakyReLU', negative_slope=0.0)),
    ],
    bbox_head=dict(in_channels=256))
