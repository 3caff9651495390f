# RetinaFace-ResNet50 on WIDER FACE, the biubug6/Pytorch_Retinaface recipe:
# batch 24 at 840x840, SGD lr 1e-3, 100 epochs, lr x0.1 at 70/90, ResNet-50
# from torchvision's ImageNet weights. (The reference runs DataParallel on 4
# GPUs, i.e. one batch of 24; with 4-GPU DDP use batch_size=6 per GPU.)
#
# Test protocol (as the reference test_widerface.py): each image at its
# original size, batch 1, score > 0.02, NMS 0.4 (+1 area convention), all
# detections kept. "Same as MXNet" scale (short side 1600, long side <= 2150):
#   python tools/test.py configs/retinaface_r50_widerface.py CKPT \
#     --cfg-options test_dataloader.dataset.pipeline.1.short_side=1600 \
#                   test_dataloader.dataset.pipeline.1.max_long_side=2150
#
# Reference weights: convert Resnet50_Final.pth with
#   python tools/model_converters/retinaface_to_mmdet.py \
#     weights/Resnet50_Final.pth checkpoints/retinaface_r50_ref.pth
# and test it with tools/test.py CONFIG checkpoints/retinaface_r50_ref.pth.
_base_ = [
    './_base_/datasets/widerface.py',
    './_base_/models/retinaface_r50.py',
    './_base_/schedules/retinaface_r50.py',
    'mmdet::_base_/default_runtime.py',
]

custom_imports = dict(
    imports=['mmdet_faces', 'mmcv_patches'], allow_failed_imports=False)

# The dataset base's train pipeline with the R50 train size (840); a base
# variable cannot be re-evaluated from here, so the list is restated (a test
# checks it equals the base one except for the scale).
train_scale = (840, 840)
rgb_mean = (104, 117, 123)
train_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=True, backend_args=None),
    dict(type='LoadFaceAnnotations'),
    dict(type='RandomSquareCrop', crop_choice=(0.3, 0.45, 0.6, 0.8, 1.0),
         max_tries=250, pad_val=rgb_mean),
    dict(type='FacePhotoMetricDistortion', brightness_delta=32,
         contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5),
         hue_delta=18),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomInterpResize', scale=train_scale, keep_ratio=False),
    dict(type='PackFaceInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'flip', 'flip_direction')),
]
train_dataloader = dict(batch_size=24, dataset=dict(pipeline=train_pipeline))
# batch 1 at test: images keep their own size (no padding to a common one)
val_dataloader = dict(batch_size=1)
test_dataloader = dict(batch_size=1)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook', interval=5, max_keep_ckpts=3,
        save_best='widerface/hard', rule='greater'))
log_processor = dict(window_size=50, by_epoch=True)

# Score boxes as the reference writer of the published numbers does
# (biubug6 test_widerface.py: x = int(x1), w = int(x2) - int(x1)); add
# outfile_prefix='work_dirs/widerface_txt' to keep the txt files for the
# official toolkit.
val_evaluator = dict(box_format='int')
test_evaluator = val_evaluator
