# SCRFD-10G-KPS (insightface configs/scrfd/scrfd_10g_bnkps.py): BN head per
# stride, 5 keypoints; batch 16 per GPU. Published: 95.40 / 94.01 / 82.80.
_base_ = './scrfd_10g_4xb8-640e_widerface.py'

model = dict(bbox_head=_base_.kps_head)
train_dataloader = dict(batch_size=16)
