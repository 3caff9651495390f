# What the yakhyo/retinaface-pytorch configs share besides the model and the
# schedule: batch 32 of 640x640 crops (train.py --batch-size; the augmentation
# is biubug6's) and its WIDER Face test recipe, evaluate_widerface.py's
# default (the "multi-scale image resizing" tables): each image resized so
# its short side is 1600 and its long side at most 2150 (float32, bilinear,
# boxes divided by the same factor), no padding, score > 0.02, NMS IoU 0.4
# with the +1 area convention, everything kept; boxes written as int(x1),
# int(x2) - int(x1). Its --origin-size tables: --cfg-options
# test_dataloader.dataset.pipeline.1.short_side=None (and val_dataloader).
_base_ = ['../_base_/retinaface_widerface.py']

test_pipeline = [
    dict(t, short_side=1600, max_long_side=2150)
    if t['type'] == 'ResizeShortSide' else t for t in _base_.test_pipeline
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
train_dataloader = dict(batch_size=32)
