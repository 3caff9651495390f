"""S3FDHead: max-out label, anchors, loss (vs the reference MultiBoxLoss)."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from tests.reference import s3fd_ref as ref

# 72 x 100 input: the reference's source sizes (ceil pool after conv3_3)
IMG_HW = (72, 100)
FEAT_SIZES = [(18, 25), (9, 13), (4, 6), (2, 3), (1, 2), (1, 1)]


def _head(**kwargs):
    from mmdet_faces.models.dense_heads import S3FDHead
    cfg = dict(
        train_cfg=ConfigDict(
            assigner=dict(type='S3FDAssigner'), neg_pos_ratio=3,
            min_num_neg=3),
        test_cfg=ConfigDict(
            nms_pre=5000,
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.3),
            max_per_img=750))
    cfg.update(kwargs)
    return S3FDHead(**cfg)


def _random_maps(num_imgs, seed=0, scale=1.):
    g = torch.Generator().manual_seed(seed)
    cls = [
        torch.randn(num_imgs, 2, h, w, generator=g) * scale
        for h, w in FEAT_SIZES
    ]
    reg = [torch.randn(num_imgs, 4, h, w, generator=g) for h, w in FEAT_SIZES]
    for t in cls + reg:
        t.requires_grad_(True)
    return cls, reg


def _metas(n):
    return [
        dict(img_shape=IMG_HW, pad_shape=IMG_HW, scale_factor=(1., 1.))
        for _ in range(n)
    ]


def _gt(boxes):
    return InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        labels=torch.zeros(len(boxes), dtype=torch.long))


def test_maxout_background_label():
    head = _head()
    assert head.cls_convs[0].out_channels == 4
    assert all(c.out_channels == 2 for c in head.cls_convs[1:])
    with torch.no_grad():
        head.cls_convs[0].weight.zero_()
        head.cls_convs[0].bias.copy_(torch.tensor([1., 5., 2., .5]))
    feats = [torch.randn(1, c, 3, 2) for c in head.in_channels]
    cls_scores, bbox_preds = head(feats)
    assert cls_scores[0].shape == (1, 2, 3, 2)
    assert torch.all(cls_scores[0][:, 0] == 5.)  # max of 1, 5, 2
    assert torch.all(cls_scores[0][:, 1] == .5)
    x = torch.tensor([[3., -1., 7., 2.], [0., 9., 1., -4.]])[..., None, None]
    y = head.maxout(x)
    assert y[:, :, 0, 0].tolist() == [[7., 2.], [9., -4.]]


def test_anchors_match_reference_priorbox_non_square():
    head = _head()
    anchors = head.get_anchors_flat(FEAT_SIZES, 'cpu')
    priors = ref.PriorBox(IMG_HW, FEAT_SIZES).forward()
    h, w = IMG_HW
    expect = ref.point_form(priors) * torch.tensor([w, h, w, h])
    assert anchors.shape == expect.shape == (sum(a * b
                                                 for a, b in FEAT_SIZES), 4)
    torch.testing.assert_close(anchors, expect, rtol=0, atol=1e-4)


def test_loss_without_faces():
    head = _head()
    cls, reg = _random_maps(2, seed=1)
    losses = head.loss_by_feat(cls, reg, [_gt([]), _gt([])], _metas(2))
    assert losses['loss_bbox'].item() == 0.
    assert losses['loss_cls'].item() > 0.
    assert all(torch.isfinite(v) for v in losses.values())
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    assert all(torch.isfinite(c.grad).all() for c in cls)
    # 3 hard negatives per face-free image, normalised by the image count
    ce = []
    for i in range(2):
        flat = torch.cat([c[i].permute(1, 2, 0).reshape(-1, 2) for c in cls])
        ce.append(
            torch.nn.functional.cross_entropy(
                flat,
                torch.zeros(len(flat), dtype=torch.long),
                reduction='none').topk(3)[0].sum())
    torch.testing.assert_close(losses['loss_cls'], (ce[0] + ce[1]) / 2)


def test_loss_zero_width_box_is_dropped():
    head = _head()
    cls, reg = _random_maps(1, seed=2)
    losses = head.loss_by_feat(cls, reg, [_gt([[10, 10, 10, 30]])], _metas(1))
    assert losses['loss_bbox'].item() == 0.
    assert torch.isfinite(losses['loss_cls'])


def _ref_loss(cls, reg, gts):
    num = cls[0].size(0)
    conf = torch.cat([c.permute(0, 2, 3, 1).reshape(num, -1, 2) for c in cls],
                     1)
    loc = torch.cat([b.permute(0, 2, 3, 1).reshape(num, -1, 4) for b in reg],
                    1)
    # the reference works in any consistent unit; in pixels its IoUs are
    # bit-identical to ours, so equal IoUs (every anchor inside a face has
    # IoU anchor_area / face_area) break ties the same way (stable order)
    h, w = IMG_HW
    priors = ref.PriorBox(IMG_HW, FEAT_SIZES).forward() * torch.tensor(
        [w, h, w, h])
    targets = []
    for boxes in gts:
        b = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
        targets.append(torch.cat([b, torch.ones(len(b), 1)], 1))
    return ref.MultiBoxLoss()((loc, conf, priors), targets)


@pytest.mark.parametrize('seed', range(4))
def test_loss_equals_reference_multibox_loss(seed):
    g = torch.Generator().manual_seed(100 + seed)
    gts = []
    for _ in range(3):
        n = int(torch.randint(1, 6, (1, ), generator=g))
        wh = torch.rand(n, 2, generator=g) * 40 + 5
        xy = torch.rand(n, 2, generator=g) * torch.tensor([90., 62.]) - 5
        gts.append(torch.cat([xy, xy + wh], 1).tolist())
    cls, reg = _random_maps(3, seed=seed, scale=2.)
    head = _head()
    losses = head.loss_by_feat(cls, reg, [_gt(b) for b in gts], _metas(3))
    loss_l, loss_c = _ref_loss(cls, reg, gts)
    torch.testing.assert_close(
        losses['loss_bbox'], loss_l, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        losses['loss_cls'], loss_c, rtol=1e-5, atol=1e-5)


def test_predict_by_feat_thresholds_and_rescale():
    head = _head()
    head.eval()
    cls, reg = _random_maps(2, seed=3)
    metas = [
        dict(img_shape=IMG_HW, scale_factor=(2., 2.)),
        dict(img_shape=IMG_HW, scale_factor=(1., 1.))
    ]
    with torch.no_grad():
        res = head.predict_by_feat(
            cls, reg, batch_img_metas=metas, rescale=True)
        scores, bboxes, _ = head.decode_all(cls, reg)
    assert len(res) == 2
    for r in res:
        assert set(r.keys()) >= {'bboxes', 'scores', 'labels'}
        assert (r.scores > 0.05).all()
        assert (r.labels == 0).all()
        assert torch.all(r.scores[:-1] >= r.scores[1:])
    # the best detection is the best anchor, divided by the scale factor
    best = scores[0, :, 0].argmax()
    torch.testing.assert_close(res[0].bboxes[0], bboxes[0, best] / 2.)
    torch.testing.assert_close(res[0].scores[0], scores[0, best, 0])
