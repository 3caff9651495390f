# SCRFD-500M-KPS (insightface configs/scrfd/scrfd_500m_bnkps.py): BN head
# per stride, no box scale, 5 keypoints; batch 16 per GPU. Published:
# 90.97 / 88.44 / 69.49.
_base_ = './scrfd_500m_4xb8-640e_widerface.py'

model = dict(
    bbox_head=dict(
        norm_cfg=dict(_delete_=True, type='BN', requires_grad=True),
        strides_share=False,
        scale_mode=0,
        use_kps=True))
train_dataloader = dict(batch_size=16)
