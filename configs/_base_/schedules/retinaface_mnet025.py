# biubug6/Pytorch_Retinaface schedule for MobileNet0.25 (data/config.py
# cfg_mnet, train.py): SGD lr 1e-3, momentum 0.9, weight decay 5e-4 on all
# parameters, 250 epochs, lr x0.1 after epochs 190 and 220, batch 32 at 640.
#
# Warmup: train.py's adjust_learning_rate() has `warmup_epoch = -1`, so its
# warmup branch (lr 1e-6 -> 1e-3 linearly) never runs and the reference
# trains at the constant lr from the first iteration. To try a warmup anyway:
#   param_scheduler = [dict(type='LinearLR', start_factor=1e-3, by_epoch=True,
#                           begin=0, end=5, convert_to_iter_based=True), ...]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=250, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=250,
        by_epoch=True,
        milestones=[190, 220],
        gamma=0.1)
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))

# lr 1e-3 is for a total batch of 32 (one GPU in the reference);
# `tools/train.py --auto-scale-lr` scales it linearly to other batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=32)
