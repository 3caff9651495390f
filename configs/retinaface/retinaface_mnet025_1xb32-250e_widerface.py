# RetinaFace-MobileNet0.25 on WIDER FACE, the biubug6/Pytorch_Retinaface
# recipe: batch 32 at 640x640, SGD lr 1e-3, 250 epochs, lr x0.1 at 190/220;
# test at the original image size. Rationale, test scales, backbone and
# reference weights: configs/retinaface/README.md.
_base_ = [
    '../_base_/retinaface_widerface.py',
    '../_base_/models/retinaface_mnet025.py',
    '../_base_/schedules/retinaface_mnet025.py',
]

# batch 32 of 640x640 crops: the dataset base's defaults

# a checkpoint at each validation (the schedule's val_interval)
default_hooks = dict(checkpoint=dict(interval=10))
