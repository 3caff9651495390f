# RetinaFace-MobileNetV1-0.25 of yakhyo/retinaface-pytorch
# (retinaface_mv1_0.25.pth; the uniface package's weights): its training
# (train.py and config.py: batch 32 at 640x640, SGD lr 1e-3, momentum 0.9,
# weight decay 5e-4, 250 epochs, lr x0.1 at epochs 190 and 220) and its WIDER
# Face test recipe (_yakhyo_widerface.py). Convert its weights with
#   python tools/model_converters/retinaface_to_mmdet.py \
#       retinaface_mv1_0.25.pth CKPT
# Published numbers and key mapping: docs/checkpoints.md.
_base_ = [
    '../_base_/models/retinaface_mnet025.py',
    '../_base_/schedules/retinaface_mnet025.py',
    './_yakhyo_widerface.py',
]
