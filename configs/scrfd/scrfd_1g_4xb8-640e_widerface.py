# SCRFD-1G (insightface configs/scrfd/scrfd_1g.py). Published: 92.38 /
# 90.57 / 74.80.
_base_ = './scrfd_500m_4xb8-640e_widerface.py'

model = dict(
    backbone=dict(
        block_cfg=dict(
            stage_blocks=(3, 2, 1, 5),
            stage_planes=[32, 48, 48, 160, 216, 312])),
    neck=dict(in_channels=[48, 160, 216, 312], out_channels=24),
    bbox_head=dict(
        in_channels=24,
        feat_channels=96,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)))
