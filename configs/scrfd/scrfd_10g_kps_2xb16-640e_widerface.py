# SCRFD-10G-KPS (insightface configs/scrfd/scrfd_10g_bnkps.py): BN head per
# stride, 5 keypoints; batch 16 per GPU. Published: 95.40 / 94.01 / 82.80.
_base_ = './scrfd_10g_4xb8-640e_widerface.py'

model = dict(
    bbox_head=dict(
        norm_cfg=dict(_delete_=True, type='BN', requires_grad=True),
        strides_share=False,
        use_kps=True))
train_dataloader = dict(batch_size=16)
