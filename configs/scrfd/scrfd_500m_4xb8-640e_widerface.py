# SCRFD-500M on WIDER Face, the insightface recipe (configs/scrfd/
# scrfd_500m.py): batch 8 per GPU (4 GPUs), 640 crops, 640 epochs; test at
# VGA. Published: 90.57 / 88.12 / 68.51 (easy / medium / hard).
_base_ = [
    '../_base_/datasets/widerface_scrfd.py',
    '../_base_/default_runtime.py',
    '../_base_/models/scrfd_500m.py',
    '../_base_/schedules/scrfd_640e.py',
]

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=80,
        max_keep_ckpts=3,
        save_best='widerface/hard',
        rule='greater'))

# what the _kps configs change in the head: BN towers per level, 5 keypoints
kps_head = dict(
    norm_cfg=dict(_delete_=True, type='BN', requires_grad=True),
    strides_share=False,
    use_kps=True)
