# S3FD-VGG16 on WIDER FACE, the yxlijun/S3FD.pytorch recipe: batch 16 of
# 640x640 crops, SGD lr 1e-3 momentum 0.9 weight decay 5e-4, lr x0.1 at
# 80k / 100k / 120k iterations; VGG16 from vgg16_reducedfc.pth.
#
# Backbone weights: convert vgg16_reducedfc.pth and start from it:
#   python tools/model_converters/s3fd_to_mmdet.py \
#     weights/vgg16_reducedfc.pth checkpoints/vgg16_reducedfc_mmdet.pth
# and train with
#   --cfg-options model.backbone.pretrained=checkpoints/vgg16_reducedfc_mmdet.pth
# (or set `pretrained` below; without it the trunk starts from Xavier init
# and the run is not the reference's).
# Reference weights: convert s3fd.pth / sfd_face.pth / sfd_face_checkpoint.pth
# the same way and test with tools/test.py CONFIG CKPT.
#
# Test protocol: each image at its original size, batch 1, softmax score >
# 0.05, top 5000 into NMS 0.3, 750 kept (the reference Detect). The published
# protocol (original + flip + shrink + enlarge views merged by box voting) is
# `tools/test.py CONFIG CKPT --tta` with the tta_model / tta_pipeline below.
_base_ = [
    './_base_/datasets/widerface.py',
    './_base_/models/s3fd_vgg16.py',
    './_base_/schedules/s3fd.py',
    './_base_/default_runtime.py',
]

# a converted vgg16_reducedfc.pth (tools/model_converters/s3fd_to_mmdet.py)
model = dict(backbone=dict(pretrained=None))

# Training augmentation. The reference (utils/augmentations.py) applies
# photometric distortion, then with prob. 0.5 PyramidBox-style data-anchor-
# sampling and otherwise a square crop of 0.3-1 of the short side that must
# contain a whole face (keeping faces whose centre is inside), a resize to
# 640x640 with a random interpolation and a horizontal flip; faces under 6x6
# px after the resize are dropped. Here: the dataset base's (RetinaFace)
# pipeline -- the same square crop, distortion, random-interpolation resize
# to 640x640 and flip -- with the crop scales below (mmdet's Expand/
# MinIoURandomCrop are SSD's sampler -- not square, IoU-constrained, and the
# reference has expand switched off -- so they are not used). Not
# reproduced: data-anchor-sampling and the 6 px filter (zero-size boxes are
# dropped by the head).
train_pipeline = [
    # the reference draws the scale uniformly from [0.3, 1]
    dict(t, crop_choice=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
         max_tries=50) if t['type'] == 'RandomSquareCrop' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size=16, num_workers=4, dataset=dict(pipeline=train_pipeline))

default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=5000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)

# ------------------------------------------------------------------ TTA ----
# The published S3FD protocol (sfd_test_code / S3FD.pytorch wider_test.py):
# detections of the original image, its flip, a 0.5 shrink (keeps boxes with
# longer side > 30) and an enlargement (keeps boxes with shorter side < 100)
# are merged by bbox_vote (IoU 0.3, score-weighted boxes, single-box clusters
# dropped, top 750). The reference picks the enlargement per image,
# min(2, sqrt(1700 * 1200 / (h * w))) -- about 1.6-1.7 for the usual
# 1024 x 683..768 WIDER image -- and adds 2x, 4x.. views for images smaller
# than about 0.5 MPx; mmdet's TestTimeAug has a fixed list of views, so the
# enlargement is the fixed `tta_enlarge` below.
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
                dict(type='Compose', transforms=[
                    dict(type='Resize', scale_factor=1.0, keep_ratio=True),
                    dict(type='RandomFlip', prob=0.)]),
                dict(type='Compose', transforms=[
                    dict(type='Resize', scale_factor=1.0, keep_ratio=True),
                    dict(type='RandomFlip', prob=1.)]),
                dict(type='Compose', transforms=[
                    dict(type='Resize', scale_factor=0.5, keep_ratio=True),
                    dict(type='RandomFlip', prob=0.)]),
                dict(type='Compose', transforms=[
                    dict(type='Resize', scale_factor=tta_enlarge,
                         keep_ratio=True),
                    dict(type='RandomFlip', prob=0.)]),
            ],
            [dict(type='LoadFaceAnnotations')],
            [dict(type='PackFaceInputs',
                  meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                             'scale_factor', 'flip', 'flip_direction'))],
        ])
]
