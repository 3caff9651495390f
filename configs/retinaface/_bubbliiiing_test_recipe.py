# bubbliiiing/retinaface-pytorch evaluation.py + retinaface.py get_map_txt:
# the image converted to RGB (the network was trained on RGB with the mean
# (104, 117, 123) subtracted in that order), letterboxed into 1280x1280
# (LetterboxResize: grey 128, float32, bilinear), score >= 0.01, NMS IoU 0.3
# without the +1 (torchvision nms; evaluation.py passes nms_iou=0.45 but
# get_map_txt never hands it on, so its default 0.3 applies), everything
# kept; boxes mapped back as retinaface_correct_boxes does and written as
# int(x1), int(x2) - int(x1).
bubbliiiing_model = dict(
    data_preprocessor=dict(bgr_to_rgb=True),
    test_cfg=dict(
        score_thr=0.01, nms=dict(type='nms', iou_threshold=0.3, offset=0)))
bubbliiiing_test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadFaceImage', ignore_empty=False, backend_args=None),
        dict(type='LetterboxResize', size=(1280, 1280), pad_val=128.),
        dict(type='LoadFaceAnnotations'),
        dict(
            type='PackFaceInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor', 'border')),
    ]))
