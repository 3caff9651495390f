# RetinaFace-ResNet-50 of yakhyo/retinaface-pytorch (resnet50_final.pth; the
# uniface package's weights): its training (train.py and config.py: batch 32 at
# 640x640, SGD lr 1e-3, momentum 0.9, weight decay 5e-4, 100 epochs, lr x0.1 at
# epochs 70 and 90) and its WIDER Face test recipe (_yakhyo_widerface.py).
# Convert its weights with
#   python tools/model_converters/retinaface_to_mmdet.py \
#       resnet50_final.pth CKPT
# Published numbers and key mapping: docs/checkpoints.md.
_base_ = [
    '../_base_/models/retinaface_r50.py',
    '../_base_/schedules/retinaface_r50.py',
    './_yakhyo_widerface.py',
]

# lr 1e-3 is for a batch of 32 (the schedule base's is biubug6's 24)
auto_scale_lr = dict(base_batch_size=32)
