# SCRFD-10G (insightface configs/scrfd/scrfd_10g.py). Published: 95.16 /
# 93.87 / 83.05.
_base_ = './scrfd_2.5g_4xb8-640e_widerface.py'

model = dict(
    backbone=dict(
        base_channels=56,
        block_cfg=dict(
            stage_blocks=(3, 4, 2, 3), stage_planes=[56, 88, 88, 224])),
    neck=dict(in_channels=[56, 88, 88, 224], out_channels=56),
    bbox_head=dict(in_channels=56, stacked_convs=3, feat_channels=80))
