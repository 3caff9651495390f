# WIDER Face with the SCRFD recipe (insightface detection/scrfd): train on
# 640x640 crops of the random square crop with scales 0.3..2.0 (grey 128
# outside the image), flip with landmark swap and mmdet's photometric
# distortion; test at VGA: keep-ratio resize into 640x640 and pad to it.
_base_ = './widerface.py'

train_scale = (640, 640)
train_batch_size = 8
test_scale = (640, 640)

train_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=True, backend_args=None),
    dict(type='LoadFaceAnnotations'),
    dict(type='SCRFDRandomSquareCrop',
         crop_choice=(0.3, 0.45, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0),
         clip_border=True),
    dict(type='Resize', scale=train_scale, keep_ratio=False,
         clip_object_border=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', brightness_delta=32,
         contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5),
         hue_delta=18),
    dict(type='PackFaceInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'flip', 'flip_direction')),
]
test_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=False, backend_args=None),
    dict(type='Resize', scale=test_scale, keep_ratio=True),
    dict(type='Pad', size=test_scale, pad_val=dict(img=0)),
    dict(type='LoadFaceAnnotations'),
    dict(type='PackFaceInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'pad_shape', 'scale_factor')),
]

train_dataloader = dict(
    batch_size=train_batch_size, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
