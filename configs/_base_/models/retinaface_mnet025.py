# RetinaFace with MobileNetV1-0.25 (biubug6/Pytorch_Retinaface "mobile0.25").
#
# Reference test protocol: original size (no padding: pad_size_divisor=1 so
# the feature maps, and hence the anchors, are those of the image itself;
# test with batch size 1), score > 0.02, NMS IoU 0.4 with the +1 area
# convention (mmcv nms offset=1), everything kept (nms_pre / max_per_img -1).
model = dict(
    type='RetinaFace',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[104., 117., 123.],
        std=[1., 1., 1.],
        bgr_to_rgb=False,
        pad_size_divisor=1),
    backbone=dict(
        type='MobileNetV1',
        widen_factor=0.25,
        out_indices=(0, 1, 2),
        frozen_stages=-1,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='LeakyReLU', negative_slope=0.1),
        norm_eval=False,
        # The reference starts from the ImageNet backbone
        # mobilenetV1X0.25_pretrain.tar; convert it with
        #   python tools/model_converters/retinaface_to_mmdet.py \
        #     weights/mobilenetV1X0.25_pretrain.tar \
        #     checkpoints/mobilenetV1X0.25_backbone_mmdet.pth
        # and set init_cfg=dict(type='Pretrained', prefix='backbone.',
        #   checkpoint='checkpoints/mobilenetV1X0.25_backbone_mmdet.pth')
        init_cfg=None),
    neck=[
        dict(
            type='RetinaFaceFPN',
            in_channels=[64, 128, 256],
            out_channels=64,
            norm_cfg=dict(type='BN'),
            act_cfg=dict(type='LeakyReLU', negative_slope=0.1)),
        dict(
            type='FaceSSH',
            num_levels=3,
            in_channels=64,
            out_channels=64,
            norm_cfg=dict(type='BN'),
            act_cfg=dict(type='LeakyReLU', negative_slope=0.1)),
    ],
    bbox_head=dict(
        type='RetinaFaceHead',
        num_classes=1,
        in_channels=64,
        num_points=5,
        anchor_generator=dict(
            type='AnchorGenerator',
            strides=[8, 16, 32],
            ratios=[1.0],
            scales=[1, 2],
            base_sizes=[16, 64, 256],
            centers=[(4, 4), (8, 8), (16, 16)]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=[0.1, 0.1, 0.2, 0.2],
            clip_border=False),
        landmark_coder=dict(type='LandmarkCoder', num_points=5, std=0.1),
        loss_weights=dict(loss_cls=1.0, loss_bbox=2.0, loss_landmark=1.0),
        # OHEM: 7 negatives per positive per image; an image without any
        # positive anchor (no faces) takes its 16 hardest negatives
        neg_pos_ratio=7,
        num_neg_no_pos=16),
    train_cfg=dict(
        assigner=dict(
            type='RetinaFaceAssigner',
            pos_iou_thr=0.35,
            min_pos_iou=0.2,
            ignore_iou_thr=0.35,
            # the reference loop also re-points a too-small face's best
            # anchor to it (see RetinaFaceAssigner)
            hard_gt_claims=True)),
    test_cfg=dict(
        nms_pre=-1,
        score_thr=0.02,
        nms=dict(type='nms', iou_threshold=0.4, offset=1),
        max_per_img=-1))
