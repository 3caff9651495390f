# RetinaFace-MobileNet0.25 on the bundled synthetic WIDER-format data set
# (`make data` / tools/dataset_converters/gen_synthetic_widerface.py): the
# README's main job. Same model, augmentation and test protocol as
# retinaface_mnet025_widerface.py; a short schedule that trains from scratch
# on 2 CPU cores in a few minutes:
#   - 320x320 crops instead of 640 (4x fewer pixels),
#   - batch 16, SGD lr 0.02 with a linear warmup and cosine decay (the
#     reference's lr 1e-3 over 250 epochs is far too slow for a demo),
#   - validation with the WIDER Face metric at the end only.
_base_ = './retinaface_mnet025_widerface.py'

data_root = 'data/widerface/'
train_scale = (320, 320)
max_epochs = 12

train_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=True),
    dict(type='LoadFaceAnnotations'),
    dict(type='RandomSquareCrop', crop_choice=(0.3, 0.45, 0.6, 0.8, 1.0),
         max_tries=250, pad_val=(104, 117, 123)),
    dict(type='FacePhotoMetricDistortion', brightness_delta=32,
         contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5),
         hue_delta=18),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomInterpResize', scale=train_scale, keep_ratio=False),
    dict(type='PackFaceInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'flip', 'flip_direction')),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(gt_dir=data_root + 'ground_truth/')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=60),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.02,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=10.0))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs,
                    max_keep_ckpts=1, save_best=None),
    visualization=dict(type='DetVisualizationHook', score_thr=0.5))
visualizer = dict(
    type='FaceLocalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')],
    name='visualizer')
log_processor = dict(window_size=10)
# a fixed seed: the demo gives the same numbers run after run (up to
# nondeterministic CPU kernels); drop it to see the run-to-run spread
randomness = dict(seed=0)
