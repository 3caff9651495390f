# SCRFD-500M (insightface detection/scrfd configs/scrfd/scrfd_500m.py): the
# searched MobileNetV1, PAFPN on strides 8/16/32, a shared depthwise GN head
# with 2 anchors per location. Other sizes override backbone / neck / head
# (configs/scrfd/); rationale and the recipe: docs/scrfd.md.
# images are loaded BGR; the reference normalises RGB with 127.5 / 128
# (padding is the test pipeline's, in pixels, as the reference's)
data_preprocessor = dict(
    type='DetDataPreprocessor',
    mean=[127.5] * 3,
    std=[128.0] * 3,
    bgr_to_rgb=True,
    pad_size_divisor=1)
model = dict(
    type='SCRFD',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MobileNetV1',
        block_cfg=dict(
            stage_blocks=(2, 3, 2, 6), stage_planes=[16, 16, 40, 72, 152,
                                                     288]),
        out_indices=(1, 2, 3, 4),
        act_cfg=dict(type='ReLU'),
        norm_cfg=dict(type='BN'),
        init_cfg=[
            dict(type='Kaiming', layer='Conv2d'),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ]),
    neck=dict(
        type='PAFPN',
        in_channels=[40, 72, 152, 288],
        out_channels=16,
        start_level=1,
        add_extra_convs='on_output',
        num_outs=3),
    bbox_head=dict(
        type='SCRFDHead',
        num_classes=1,
        in_channels=16,
        stacked_convs=2,
        feat_channels=64,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        cls_reg_share=True,
        strides_share=True,
        dw_conv=True,
        scale_mode=2,
        use_kps=False,
        anchor_generator=dict(
            type='AnchorGenerator',
            ratios=[1.0],
            scales=[1, 2],
            base_sizes=[16, 64, 256],
            strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(
            type='QualityFocalLoss',
            use_sigmoid=True,
            beta=2.0,
            loss_weight=1.0),
        loss_bbox=dict(type='DIoULoss', loss_weight=2.0),
        loss_kps=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=0.1)),
    train_cfg=dict(
        assigner=dict(type='ATSSAssigner', topk=9),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=-1,
        min_bbox_size=0,
        score_thr=0.02,
        nms=dict(type='nms', iou_threshold=0.45),
        max_per_img=-1))
