# SCRFD-2.5G-KPS (insightface configs/scrfd/scrfd_2.5g_bnkps.py): BN head per
# stride, 5 keypoints; batch 16 per GPU. Published: 93.80 / 92.02 / 77.13.
_base_ = './scrfd_2.5g_4xb8-640e_widerface.py'

model = dict(bbox_head=_base_.kps_head)
train_dataloader = dict(batch_size=16)
