# S3FD on the bundled synthetic data set (data/widerface, `make data`): a
# short run on a 2-core CPU. The S3FD layout with the VGG16 trunk at 1/8
# width, random init, 256x256 crops, batch 8, AdamW with warmup and cosine
# decay, 300 iterations, test images at long side 512. What is changed from
# the reference recipe and why, and the measured APs:
# configs/s3fd/README.md.
_base_ = ['./s3fd_vgg16_1xb16-200k_widerface.py']

# data: the base's data_root, data/widerface/ (where `make data` writes)
widen_factor = 0.125
train_scale = (256, 256)
test_scale = (512, 512)  # long side
max_iters = 300

model = dict(
    backbone=dict(widen_factor=widen_factor, pretrained=None),
    bbox_head=dict(in_channels=[
        int(round(c * widen_factor))
        for c in _base_.model.bbox_head.in_channels
    ]))

# the base's pipelines, the train one at 256 and the test one with a
# keep-ratio resize to test_scale in place of the original size
train_pipeline = [
    dict(t, scale=train_scale) if t['type'] == 'RandomInterpResize' else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(type='Resize', scale=test_scale, keep_ratio=True)
    if t['type'] == 'ResizeShortSide' else t for t in _base_.test_pipeline
]
train_dataloader = dict(
    batch_size=8, num_workers=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10., norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=50,
        end=max_iters,
        T_max=max_iters - 50,
        eta_min=2e-5),
]

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
log_processor = dict(window_size=20)
