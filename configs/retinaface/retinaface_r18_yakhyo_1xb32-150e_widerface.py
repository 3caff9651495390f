# RetinaFace-ResNet-18 of yakhyo/retinaface-pytorch (retinaface_r18.pth; the
# uniface package's weights): its training (train.py and config.py: batch 32 at
# 640x640, SGD lr 1e-3, momentum 0.9, weight decay 5e-4, 150 epochs, lr x0.1 at
# epochs 70 and 90) and its WIDER Face test recipe (_yakhyo_widerface.py).
# Convert its weights with
#   python tools/model_converters/retinaface_to_mmdet.py \
#       retinaface_r18.pth CKPT
# Published numbers and key mapping: docs/checkpoints.md.
_base_ = [
    '../_base_/models/retinaface_r18.py',
    '../_base_/schedules/retinaface_r50.py',
    './_yakhyo_widerface.py',
]

# 150 epochs, lr x0.1 at epochs 70 and 90
train_cfg = dict(max_epochs=150)
param_scheduler = [dict(_base_.param_scheduler[0], end=150)]

# lr 1e-3 is for a batch of 32 (the schedule base's is biubug6's 24)
auto_scale_lr = dict(base_batch_size=32)
