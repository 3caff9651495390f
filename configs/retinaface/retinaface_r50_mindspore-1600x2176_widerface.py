# RetinaFace-ResNet50 of the MindSpore model zoo (official/cv/
# RetinaFace_ResNet50, RetinaFace-100_536.ckpt) with its WIDER Face test
# recipe, eval.py with config.py (val_origin_size False): each image resized
# so its short side is 1600 and its long side at most 2176 (float32,
# bilinear, boxes divided by the same factor), pasted at the top left of a
# 2176x2176 canvas of the mean colour (zero after mean subtraction), anchors
# of the canvas, score > 0.02, NMS IoU 0.4 with the +1 area convention,
# everything kept; boxes written as int(x1), int(x2) - int(x1). Its ResNet
# pads the stem max-pool only top-left, which equals PyTorch's padding for
# the even sizes this recipe feeds. Training fields are biubug6's R50
# recipe. Convert its weights (no MindSpore needed) with
#   python tools/model_converters/retinaface_to_mmdet.py \
#       RetinaFace-100_536.ckpt CKPT
# Published numbers and key mapping: docs/checkpoints.md.
_base_ = ['./retinaface_r50_1xb24-100e_widerface.py']

canvas = 2176
test_pipeline = [
    dict(t, short_side=1600, max_long_side=canvas)
    if t['type'] == 'ResizeShortSide' else t for t in _base_.test_pipeline
]
test_pipeline.insert([t['type']
                      for t in test_pipeline].index('ResizeShortSide') + 1,
                     dict(
                         type='Pad',
                         size=(canvas, canvas),
                         pad_val=dict(img=(104., 117., 123.))))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
