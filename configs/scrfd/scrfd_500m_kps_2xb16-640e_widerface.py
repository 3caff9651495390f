# SCRFD-500M-KPS (insightface configs/scrfd/scrfd_500m_bnkps.py): BN head
# per stride, no box scale, 5 keypoints; batch 16 per GPU. Published:
# 90.97 / 88.44 / 69.49.
_base_ = './scrfd_500m_4xb8-640e_widerface.py'

model = dict(bbox_head=dict(_base_.kps_head, scale_mode=0))
train_dataloader = dict(batch_size=16)
