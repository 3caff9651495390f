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
    './_base_/retinaface_widerface.py',
    './_base_/models/retinaface_r50.py',
    './_base_/schedules/retinaface_r50.py',
]

# The dataset base's train pipeline at the R50 train size (840). `_base_.x`
# is the value the bases built; the base's loader holds the base's list
# (lists are replaced whole, not merged), so the loader gets the new one.
train_scale = (840, 840)
train_pipeline = [
    dict(t, scale=train_scale) if t['type'] == 'RandomInterpResize' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(batch_size=24, dataset=dict(pipeline=train_pipeline))

# a checkpoint at each validation (the schedule's val_interval)
default_hooks = dict(checkpoint=dict(interval=5))
