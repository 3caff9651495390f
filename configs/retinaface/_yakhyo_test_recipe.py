# yakhyo/retinaface-pytorch evaluate_widerface.py (its default, the
# "multi-scale image resizing" tables): each image resized so its short side
# is 1600 and its long side at most 2150 (float32, bilinear, boxes divided by
# the same factor), no padding, score > 0.02, NMS IoU 0.4 with the +1 area
# convention, everything kept; boxes written as int(x1), int(x2) - int(x1).
# (A base of the yakhyo configs, which set it as the val/test pipeline.)
# Its --origin-size tables: --cfg-options test_dataloader.dataset.pipeline.
# 1.short_side=None (the same for val_dataloader).
yakhyo_test_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=False, backend_args=None),
    dict(type='ResizeShortSide', short_side=1600, max_long_side=2150),
    dict(type='LoadFaceAnnotations'),
    dict(type='PackFaceInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
