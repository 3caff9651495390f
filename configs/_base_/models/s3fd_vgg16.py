# S3FD with VGG16 (Zhang et al., ICCV 2017), the yxlijun/S3FD.pytorch layout.
model = dict(
    type='S3FD',
    # S3FD.pytorch subtracts the BGR mean (104, 117, 123) and then swaps the
    # channels to RGB before the network, so its checkpoints (and its
    # vgg16_reducedfc) expect RGB input with mean (123, 117, 104). Images are
    # loaded BGR here, hence bgr_to_rgb=True. No padding divisor: the
    # reference runs on the image size as is.
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123., 117., 104.],
        std=[1., 1., 1.],
        bgr_to_rgb=True,
        pad_size_divisor=1),
    backbone=dict(
        type='S3FDVGG',
        l2_norm_scales=(10., 8., 5.),
        # the reference: convs Xavier-uniform, zero bias; to start from a
        # converted vgg16_reducedfc.pth (tools/model_converters/
        # s3fd_to_mmdet.py) add
        # dict(type='Pretrained', checkpoint='...', prefix='backbone.')
        init_cfg=[
            dict(
                type='Xavier', layer='Conv2d', distribution='uniform', bias=0.)
        ]),
    bbox_head=dict(
        type='S3FDHead',
        num_classes=1,
        in_channels=(256, 512, 512, 1024, 512, 256),
        maxout_bg_channels=3,
        anchor_generator=dict(
            type='AnchorGenerator',
            strides=[4, 8, 16, 32, 64, 128],
            ratios=[1.0],
            scales=[1.0],
            base_sizes=[16, 32, 64, 128, 256, 512],
            centers=[(2., 2.), (4., 4.), (8., 8.), (16., 16.), (32., 32.),
                     (64., 64.)]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=[0.1, 0.1, 0.2, 0.2],
            clip_border=False),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(
            type='S3FDAssigner',
            pos_iou_thr=0.35,
            min_comp_iou=0.1,
            comp_iou_thr=0.5),
        neg_pos_ratio=3,
        # hard negatives mined in an image without faces (reference: 0)
        min_num_neg=3),
    test_cfg=dict(
        nms_pre=5000,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.3),
        max_per_img=750))
