# RetinaFace-MobileNet0.25 on the bundled synthetic WIDER-format data set
# (`make data`): the README's main job (`make demo`). The reference model,
# augmentation and test protocol with a schedule that trains from scratch on
# 2 CPU cores in minutes: 320x320 crops, batch 16, SGD lr 0.02 with warmup
# and cosine decay, 12 epochs. Why: configs/retinaface/README.md.
_base_ = './retinaface_mnet025_1xb32-250e_widerface.py'

# data: the base's data_root, data/widerface/ (where `make data` writes)
train_scale = (320, 320)
max_epochs = 12

# the base's train pipeline at 320
train_pipeline = [
    dict(t, scale=train_scale) if t['type'] == 'RandomInterpResize' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=60),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.02,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
optim_wrapper = dict(optimizer=dict(lr=0.02), clip_grad=dict(max_norm=10.0))

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None),
    visualization=dict(score_thr=0.5))
log_processor = dict(window_size=10)
# a fixed seed: bit-identical reruns (configs/retinaface/README.md)
randomness = dict(seed=0)
