# RetinaFace-MobileNet0.25 on WIDER FACE, the biubug6/Pytorch_Retinaface
# recipe: batch 32 at 640x640, SGD lr 1e-3, 250 epochs, lr x0.1 at 190/220.
#
# Test protocol (as the reference test_widerface.py): each image at its
# original size, batch 1, score > 0.02, NMS 0.4 (+1 area convention), all
# detections kept. To test at the "same as MXNet" scale (short side 1600,
# long side at most 2150), set the test pipeline's ResizeShortSide step:
#   python tools/test.py configs/retinaface_mnet025_widerface.py CKPT \
#     --cfg-options test_dataloader.dataset.pipeline.1.short_side=1600 \
#                   test_dataloader.dataset.pipeline.1.max_long_side=2150
#
# Backbone: the reference starts from mobilenetV1X0.25_pretrain.tar (see
# configs/_base_/models/retinaface_mnet025.py for converting it and setting
# model.backbone.init_cfg); without it the backbone starts from scratch.
#
# Reference weights: convert mobilenet0.25_Final.pth with
#   python tools/model_converters/retinaface_to_mmdet.py \
#     weights/mobilenet0.25_Final.pth checkpoints/retinaface_mnet025_ref.pth
# and test it with tools/test.py CONFIG checkpoints/retinaface_mnet025_ref.pth.
_base_ = [
    './_base_/retinaface_widerface.py',
    './_base_/models/retinaface_mnet025.py',
    './_base_/schedules/retinaface_mnet025.py',
]

# batch 32 of 640x640 crops: the dataset base's defaults

# a checkpoint at each validation (the schedule's val_interval)
default_hooks = dict(checkpoint=dict(interval=10))
