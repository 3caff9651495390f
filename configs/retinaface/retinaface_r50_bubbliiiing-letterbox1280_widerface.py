# RetinaFace-ResNet50 of bubbliiiing/retinaface-pytorch
# (Retinaface_resnet50.pth) with its WIDER Face test recipe
# (_bubbliiiing_test_recipe.py). Training fields are biubug6's recipe (with
# this RGB input). Convert its weights with
#   python tools/model_converters/retinaface_to_mmdet.py \
#       Retinaface_resnet50.pth CKPT
# Published numbers and key mapping: docs/checkpoints.md.
_base_ = [
    './retinaface_r50_1xb24-100e_widerface.py',
    './_bubbliiiing_test_recipe.py',
]

model = _base_.bubbliiiing_model
val_dataloader = test_dataloader = _base_.bubbliiiing_test_dataloader
