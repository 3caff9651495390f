# RetinaFace-MobileNet0.25 of bubbliiiing/retinaface-pytorch
# (Retinaface_mobilenet0.25.pth) with its WIDER Face test recipe
# (_bubbliiiing_test_recipe.py: RGB input, letterbox into 1280x1280,
# score >= 0.01, NMS IoU 0.3). Training fields are biubug6's recipe (with
# this RGB input). Convert its weights with
#   python tools/model_converters/retinaface_to_mmdet.py \
#       Retinaface_mobilenet0.25.pth CKPT
# Published numbers and key mapping: docs/checkpoints.md.
_base_ = [
    './retinaface_mnet025_1xb32-250e_widerface.py',
    './_bubbliiiing_test_recipe.py',
]

model = _base_.bubbliiiing_model
val_dataloader = test_dataloader = _base_.bubbliiiing_test_dataloader
