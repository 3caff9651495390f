# RetinaFace-ResNet50 on WIDER FACE, the biubug6/Pytorch_Retinaface recipe:
# batch 24 at 840x840, SGD lr 1e-3, 100 epochs, lr x0.1 at 70/90, ResNet-50
# from torchvision's ImageNet weights; test at the original image size.
# Rationale, test scales and reference weights: configs/retinaface/README.md.
_base_ = [
    '../_base_/retinaface_widerface.py',
    '../_base_/models/retinaface_r50.py',
    '../_base_/schedules/retinaface_r50.py',
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
