# The SCRFD schedule (insightface detection/scrfd configs/scrfd/*.py):
# SGD lr 0.01 (0.02 for 34G), momentum 0.9, weight decay 5e-4, linear warmup
# from 0.001x over 1500 iterations, 640 epochs (80 x lr_mult 8), lr x0.1
# after epochs 440 and 544, total batch 32.
max_epochs = 640
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=80)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[440, 544],
        gamma=0.1)
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))

# lr 0.01 is for a total batch of 32; `tools/train.py --auto-scale-lr`
# scales it linearly to other batch sizes
auto_scale_lr = dict(enable=False, base_batch_size=32)
