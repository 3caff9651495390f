# WIDER Face with the SCRFD recipe (insightface detection/scrfd): train on
# 640x640 crops of the random square crop with scales 0.3..2.0 (grey 128
# outside the image), flip with landmark swap and mmdet's photometric
# distortion; test at VGA: keep-ratio resize into 640x640 and pad to it.
_base_ = './widerface.py'

train_scale = (640, 640)
train_batch_size = 8
test_scale = (640, 640)

# the base's loading and packing around the SCRFD steps
train_pipeline = _base_.train_pipeline[:2] + [
    dict(
        type='SCRFDRandomSquareCrop',
        crop_choice=(0.3, 0.45, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0),
        clip_border=True),
    dict(
        type='Resize',
        scale=train_scale,
        keep_ratio=False,
        clip_object_border=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=32,
        contrast_range=(0.5, 1.5),
        saturation_range=(0.5, 1.5),
        hue_delta=18),
] + _base_.train_pipeline[-1:]
# the base's test pipeline with a VGA resize + pad instead of its resize
test_pipeline = _base_.test_pipeline[:1] + [
    dict(type='Resize', scale=test_scale, keep_ratio=True),
    dict(type='Pad', size=test_scale, pad_val=dict(img=0)),
] + _base_.test_pipeline[2:-1] + [
    dict(
        _base_.test_pipeline[-1],
        meta_keys=_base_.test_pipeline[-1]['meta_keys'] + ('pad_shape', ))
]

train_dataloader = dict(
    batch_size=train_batch_size, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
