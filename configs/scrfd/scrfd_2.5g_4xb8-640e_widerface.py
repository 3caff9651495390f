# SCRFD-2.5G (insightface configs/scrfd/scrfd_2.5g.py): ResNetV1e with basic
# blocks, boxes not clipped to the crop. Published: 93.78 / 92.16 / 77.87.
_base_ = './scrfd_500m_4xb8-640e_widerface.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetV1e',
        block_cfg=dict(
            block='BasicBlock',
            stage_blocks=(3, 5, 3, 2),
            stage_planes=[24, 48, 48, 80]),
        base_channels=24,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch'),
    neck=dict(in_channels=[24, 48, 48, 80], out_channels=24),
    bbox_head=dict(in_channels=24, dw_conv=False))

# boxes and landmarks are not clipped to the crop / resized image
train_pipeline = [
    dict(t, clip_border=False) if t['type'] == 'SCRFDRandomSquareCrop' else
    dict(t, clip_object_border=False) if t['type'] == 'Resize' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
