# WIDER Face with 5-point landmarks (RetinaFace label.txt layout, see
# docs/design.md). Train: the RetinaFace reference augmentation; test: the
# original image size (switch on the "same as MXNet" scale with
#   --cfg-options test_dataloader.dataset.pipeline.1.short_side=1600 \
#                 test_dataloader.dataset.pipeline.1.max_long_side=2150
# and the same for val_dataloader).
dataset_type = 'WIDERFaceLandmarkDataset'
data_root = 'data/widerface/'
backend_args = None

train_scale = (640, 640)  # (w, h) after the square crop
train_batch_size = 32
train_num_workers = 2
# batch 1 at test: images keep their own size (no padding to a common one)
val_batch_size = 1
val_num_workers = 2
rgb_mean = (104, 117, 123)  # BGR, also the pad value of the square crop

train_pipeline = [
    # missing / corrupt images are skipped with a counted warning
    dict(type='LoadFaceImage', ignore_empty=True, backend_args=backend_args),
    dict(type='LoadFaceAnnotations'),
    dict(
        type='RandomSquareCrop',
        crop_choice=(0.3, 0.45, 0.6, 0.8, 1.0),
        max_tries=250,
        pad_val=rgb_mean),
    # the reference _distort: brightness 32, contrast/saturation 0.5-1.5,
    # hue 18 (OpenCV 8-bit units); mmdet's PhotoMetricDistortion differs
    dict(
        type='FacePhotoMetricDistortion',
        brightness_delta=32,
        contrast_range=(0.5, 1.5),
        saturation_range=(0.5, 1.5),
        hue_delta=18),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomInterpResize', scale=train_scale, keep_ratio=False),
    dict(
        type='PackFaceInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction')),
]
test_pipeline = [
    # a missing / corrupt test image is an error naming the path
    dict(type='LoadFaceImage', ignore_empty=False, backend_args=backend_args),
    dict(type='ResizeShortSide', short_side=None, max_long_side=None),
    dict(type='LoadFaceAnnotations'),
    dict(
        type='PackFaceInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=train_num_workers,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train/label.txt',
        data_prefix=dict(img='train/images/'),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=val_batch_size,
    num_workers=val_num_workers,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val/label.txt',
        data_prefix=dict(img='val/images/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='WIDERFaceMetric', gt_dir=data_root + 'ground_truth/')
test_evaluator = val_evaluator
