# The S3FD.pytorch schedule: SGD lr 1e-3, momentum 0.9, weight decay 5e-4,
# x0.1 at 80k / 100k / 120k iterations, MAX_STEPS 200k (the paper: 120k
# iterations, i.e. --cfg-options train_cfg.max_iters=120000).
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=200000, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=200000,
        milestones=[80000, 100000, 120000],
        gamma=0.1)
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))

# the reference was trained with batch 16 on one GPU
auto_scale_lr = dict(enable=False, base_batch_size=16)
