"""SCRFDHead: layer layout per setting, keypoint targets, loss, predict."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from mmdet_faces.models import SCRFDHead
from tests.test_models.scrfd_utils import build_scrfd
from tests.test_models.train_utils import train_steps

TRAIN_CFG = ConfigDict(
    assigner=dict(type='ATSSAssigner', topk=9),
    allowed_border=-1,
    pos_weight=-1,
    debug=False)


@pytest.mark.parametrize('share,scale_mode,dw,num_groups,num_scales',
                         [(True, 2, True, 1, 3), (False, 0, False, 3, 0),
                          (False, 1, False, 3, 0), (False, 2, False, 3, 3),
                          (True, 1, False, 1, 3)])
def test_layout(share, scale_mode, dw, num_groups, num_scales):
    head = SCRFDHead(
        in_channels=8,
        feat_channels=16,
        stacked_convs=2,
        strides_share=share,
        scale_mode=scale_mode,
        dw_conv=dw,
        use_kps=True,
        norm_cfg=dict(type='GN', num_groups=4))
    assert len(head.cls_convs) == len(head.conv_cls) == num_groups
    assert len(head.conv_kps) == num_groups and len(head.reg_convs) == 0
    assert sum(isinstance(s, torch.nn.Module) for s in head.scales) == \
        num_scales
    assert head.conv_cls[0].out_channels == 2  # 2 anchors, 1 class
    assert head.conv_kps[0].out_channels == 20
    tower = head.cls_convs[0][0]
    assert hasattr(tower, 'depthwise_conv') == dw
    feats = [torch.rand(1, 8, s, s) for s in (8, 4, 2)]
    cls, reg, kps = head(feats)
    shapes = [tuple(c.shape[1:]) for c in cls]
    assert shapes == [(2, 8, 8), (2, 4, 4), (2, 2, 2)]
    assert reg[0].shape[1] == 8 and kps[2].shape[1] == 20
    # a second tower for box and keypoints when not shared
    split = SCRFDHead(
        in_channels=8,
        feat_channels=16,
        cls_reg_share=False,
        norm_cfg=dict(type='GN', num_groups=4))
    assert len(split.reg_convs) == 1 and len(split(feats)) == 2


def _sample(boxes, kpts=None, vis=None, size=96):
    n = len(boxes)
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(size, size),
            ori_shape=(size, size),
            pad_shape=(size, size),
            scale_factor=(1., 1.)))
    inst = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        labels=torch.zeros(n, dtype=torch.long))
    if kpts is not None:
        inst.keypoints = torch.tensor(kpts, dtype=torch.float32)
        inst.keypoints_visible = torch.tensor(vis, dtype=torch.float32)
    sample.gt_instances = inst
    sample.ignored_instances = InstanceData(
        bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    return sample


def _face(x, y, s):
    return [x, y, x + s, y + s], [[x + s * .3, y + s * .4],
                                  [x + s * .7, y + s * .4],
                                  [x + s * .5, y + s * .6],
                                  [x + s * .35, y + s * .8],
                                  [x + s * .65, y + s * .8]]


def test_keypoint_targets_and_weights():
    head = SCRFDHead(
        in_channels=8,
        use_kps=True,
        train_cfg=TRAIN_CFG,
        norm_cfg=dict(type='GN', num_groups=4))
    (b0, k0), (b1, k1) = _face(10, 10, 32), _face(50, 40, 40)
    vis = [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]
    gt = _sample([b0, b1], [k0, k1], vis).gt_instances
    anchors = torch.cat(
        head.prior_generator.grid_priors([(12, 12), (6, 6), (3, 3)],
                                         device='cpu'))
    out = head._get_targets_single(anchors,
                                   torch.ones(len(anchors), dtype=torch.bool),
                                   [288, 72, 18], gt, dict(img_shape=(96, 96)))
    labels, kps_t, kps_w = out[1], out[-2], out[-1]
    pos = (labels == 0).nonzero().squeeze(1)
    assert len(pos) > 2
    gt_idx = out[-3].pos_assigned_gt_inds
    expect_w = torch.tensor([1.0, 0.4])[gt_idx]
    assert torch.equal(kps_w[pos], expect_w)
    kpts = torch.tensor([k0, k1]).reshape(2, 10)
    assert torch.equal(kps_t[pos], kpts[gt_idx])
    assert (kps_w[labels != 0] == 0).all()


def _batch(size=96):
    (b0, k0), (b1, k1), (b2, k2) = (_face(8, 10,
                                          24), _face(48, 20,
                                                     40), _face(20, 50, 30))
    g = torch.Generator().manual_seed(0)
    imgs = []
    samples = [
        _sample([b0, b1], [k0, k1], [[1] * 5, [1] * 5], size),
        _sample([b2], [k2], [[1] * 5], size)
    ]
    for s in samples:
        img = (torch.rand(3, size, size, generator=g) * 60).to(torch.uint8)
        for x1, y1, x2, y2 in s.gt_instances.bboxes.long().tolist():
            img[:, y1:y2, x1:x2] = 220
        imgs.append(img)
    return dict(inputs=imgs, data_samples=samples)


@pytest.mark.parametrize('arch,keys',
                         [('500m_kps', {'loss_cls', 'loss_bbox', 'loss_kps'}),
                          ('500m', {'loss_cls', 'loss_bbox'})])
def test_training_iterations_reduce_box_loss(arch, keys):
    """The quality focal loss starts near 0 (its IoU targets grow as boxes
    improve); the box loss must fall."""
    torch.manual_seed(0)
    model = build_scrfd(arch)
    model.init_weights()
    model.train()
    batch = _batch()
    data = model.data_preprocessor(batch, True)
    assert set(model.loss(data['inputs'], data['data_samples'])) == keys
    logs = train_steps(model, batch, 10, 0.01)
    history = [log['loss_bbox'] for log in logs]
    assert np.mean(history[-3:]) < 0.8 * np.mean(history[:3]), history


def test_image_without_faces_gives_finite_losses():
    model = build_scrfd('500m_kps').train()
    batch = dict(
        inputs=[torch.zeros(3, 64, 64, dtype=torch.uint8)],
        data_samples=[
            _sample(
                torch.zeros(0, 4), torch.zeros(0, 5, 2), torch.zeros(0, 5), 64)
        ])
    data = model.data_preprocessor(batch, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    total, _ = model.parse_losses(losses)
    total.backward()
    assert torch.isfinite(total) and total > 0
    assert sum(losses['loss_bbox']) == 0 and sum(losses['loss_kps']) == 0


def test_predict_rescales_and_keeps_all():
    model = build_scrfd(
        '500m_kps',
        score_thr=0.0,
        nms=dict(type='nms', iou_threshold=1.0),
        max_per_img=-1).eval()
    h, w = 64, 96
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
    metas = [
        dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)),
        dict(img_shape=(h, w), ori_shape=(32, 64), scale_factor=(1.5, 2.0))
    ]
    with torch.no_grad():
        a, b = [
            model.test_step(
                dict(inputs=[img], data_samples=[DetDataSample(metainfo=m)
                                                 ]))[0].pred_instances
            for m in metas
        ]
    # 2 anchors at every location of the 3 levels; max_per_img=-1 keeps all
    assert len(a) == len(b) == 2 * (8 * 12 + 4 * 6 + 2 * 3)
    assert torch.allclose(b.bboxes, a.bboxes / torch.tensor([1.5, 2, 1.5, 2]))
    assert torch.allclose(b.keypoints, a.keypoints / torch.tensor([1.5, 2.]))
    assert (a.bboxes[:, 2] <= w).all() and (a.bboxes[:, 0] >= 0).all()
