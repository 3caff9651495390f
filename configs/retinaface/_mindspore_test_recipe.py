# MindSpore model zoo RetinaFace_ResNet50 eval.py with its config.py
# (val_origin_size False): each image resized so its short side is 1600 and
# its long side at most 2176 (float32, bilinear, boxes divided by the same
# factor), pasted at the top left of a 2176x2176 canvas of the mean colour
# (zero after mean subtraction), anchors of the canvas, score > 0.02, NMS IoU
# 0.4 with the +1 area convention, everything kept; boxes written as
# int(x1), int(x2) - int(x1).
mindspore_test_pipeline = [
    dict(type='LoadFaceImage', ignore_empty=False, backend_args=None),
    dict(type='ResizeShortSide', short_side=1600, max_long_side=2176),
    dict(type='Pad', size=(2176, 2176), pad_val=dict(img=(104., 117., 123.))),
    dict(type='LoadFaceAnnotations'),
    dict(type='PackFaceInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
