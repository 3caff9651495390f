# SCRFD-34G (insightface configs/scrfd/scrfd_34g.py): bottleneck blocks, a
# 2 x 256 GN32 head, lr 0.02. Published: 96.06 / 94.92 / 85.29.
_base_ = './scrfd_10g_4xb8-640e_widerface.py'

model = dict(
    backbone=dict(
        block_cfg=dict(
            block='Bottleneck',
            stage_blocks=(17, 16, 2, 8),
            stage_planes=[56, 56, 144, 184])),
    neck=dict(in_channels=[224, 224, 576, 736], out_channels=128),
    bbox_head=dict(
        in_channels=128,
        stacked_convs=2,
        feat_channels=256,
        norm_cfg=dict(num_groups=32)))

optim_wrapper = dict(optimizer=dict(lr=0.02))
