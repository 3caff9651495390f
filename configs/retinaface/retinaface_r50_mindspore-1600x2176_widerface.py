# RetinaFace-ResNet50 of the MindSpore model zoo (official/cv/
# RetinaFace_ResNet50, RetinaFace-100_536.ckpt) with its WIDER Face test
# recipe (_mindspore_test_recipe.py). Its ResNet pads the stem max-pool only
# top-left, which equals PyTorch's padding for the even sizes this recipe
# feeds (the canvas is a multiple of 32). Training fields are biubug6's R50
# recipe. Convert its weights (no MindSpore needed) with
#   python tools/model_converters/retinaface_to_mmdet.py \
#       RetinaFace-100_536.ckpt CKPT
# Published numbers and key mapping: docs/checkpoints.md.
_base_ = [
    '../retinaface_r50_widerface.py',
    './_mindspore_test_recipe.py',
]

val_dataloader = dict(dataset=dict(pipeline=_base_.mindspore_test_pipeline))
test_dataloader = val_dataloader
