# S3FD-VGG16 on WIDER FACE, the yxlijun/S3FD.pytorch recipe: batch 16 of
# 640x640 crops, SGD lr 1e-3 momentum 0.9 weight decay 5e-4, lr x0.1 at
# 80k / 100k / 120k iterations (200k in all); VGG16 from vgg16_reducedfc.pth.
# Test: each image at its original size; the published multi-view protocol
# is `tools/test.py CONFIG CKPT --tta` (tta_model / tta_pipeline below).
# Rationale, backbone and reference weights: configs/s3fd/README.md.
_base_ = [
    '../_base_/datasets/widerface.py',
    '../_base_/models/s3fd_vgg16.py',
    '../_base_/schedules/s3fd.py',
    '../_base_/default_runtime.py',
]

# a converted vgg16_reducedfc.pth (tools/model_converters/s3fd_to_mmdet.py)
model = dict(backbone=dict(pretrained=None))

# the dataset base's (RetinaFace) augmentation with the reference's crop
# scales (see the README for what is and is not reproduced)
train_pipeline = [
    # the reference draws the scale uniformly from [0.3, 1]
    dict(
        t, crop_choice=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0), max_tries=50)
    if t['type'] == 'RandomSquareCrop' else t for t in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size=16, num_workers=4, dataset=dict(pipeline=train_pipeline))

default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=5000, max_keep_ckpts=3),
    logger=dict(log_metric_by_epoch=False))  # metrics at their iteration
log_processor = dict(by_epoch=False)

# ------------------------------------------------------------------ TTA ----
# The published protocol: the original image, its flip, a 0.5 shrink and an
# enlargement merged by box voting (the README explains the fixed
# enlargement).
tta_enlarge = 1.6
tta_model = dict(
    type='S3FDTTAModel',
    tta_cfg=dict(
        vote_iou_thr=0.3,
        max_per_img=750,
        keep_single=False,
        shrink_min_size=30,
        enlarge_max_size=100))
tta_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=False, backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(
                    type='Compose',
                    transforms=[
                        dict(type='Resize', scale_factor=1.0, keep_ratio=True),
                        dict(type='RandomFlip', prob=0.)
                    ]),
                dict(
                    type='Compose',
                    transforms=[
                        dict(type='Resize', scale_factor=1.0, keep_ratio=True),
                        dict(type='RandomFlip', prob=1.)
                    ]),
                dict(
                    type='Compose',
                    transforms=[
                        dict(type='Resize', scale_factor=0.5, keep_ratio=True),
                        dict(type='RandomFlip', prob=0.)
                    ]),
                dict(
                    type='Compose',
                    transforms=[
                        dict(
                            type='Resize',
                            scale_factor=tta_enlarge,
                            keep_ratio=True),
                        dict(type='RandomFlip', prob=0.)
                    ]),
            ],
            [dict(type='LoadFaceAnnotations')],
            [
                dict(
                    type='PackFaceInputs',
                    meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                               'scale_factor', 'flip', 'flip_direction'))
            ],
        ])
]
