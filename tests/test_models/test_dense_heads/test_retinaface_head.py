import numpy as np
import pytest
import torch
from mmcv.ops import batched_nms
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from mmdet_faces.models import RetinaFaceHead
from tests.reference import retinaface_ref as ref
from tests.test_models.retinaface_utils import random_faces, reference_targets

TRAIN_CFG = dict(assigner=dict(type='RetinaFaceAssigner'))
TEST_CFG = dict(
    nms_pre=-1,
    score_thr=0.02,
    nms=dict(type='nms', iou_threshold=0.4, offset=1),
    max_per_img=-1)


def _head(**kwargs):
    return RetinaFaceHead(
        in_channels=8,
        train_cfg=ConfigDict(TRAIN_CFG),
        test_cfg=ConfigDict(TEST_CFG),
        **kwargs)


def _random_preds(head, img_hw, batch, gen, scale=1.0):
    """Random per-level head outputs for an image of size ``img_hw``."""
    sizes = [(-(-img_hw[0] // s), -(-img_hw[1] // s)) for s in (8, 16, 32)]
    outs = []
    for k in (4, 8, 20):
        outs.append([
            torch.randn(batch, k, h, w, generator=gen) * scale
            for h, w in sizes
        ])
    return outs


@pytest.mark.parametrize('img_hw', [(150, 203), (64, 64), (97, 33),
                                    (640, 480)])
def test_anchors_equal_prior_box(img_hw):
    head = _head()
    sizes = [(-(-img_hw[0] // s), -(-img_hw[1] // s)) for s in (8, 16, 32)]
    anchors = torch.cat(head.prior_generator.grid_priors(sizes, device='cpu'))
    priors = ref.PriorBox(ref.cfg_mnet, image_size=img_hw).forward()
    assert anchors.shape == priors.shape
    h, w = img_hw
    ours = torch.stack([(anchors[:, 0] + anchors[:, 2]) / 2 / w,
                        (anchors[:, 1] + anchors[:, 3]) / 2 / h,
                        (anchors[:, 2] - anchors[:, 0]) / w,
                        (anchors[:, 3] - anchors[:, 1]) / h], 1)
    assert torch.allclose(ours, priors, atol=1e-6, rtol=0)
    # and exactly the pixel priors
    assert torch.equal(anchors,
                       ref.point_form(ref.pixel_priors(ref.cfg_mnet, img_hw)))


def _instances(boxes, kpts, has_kpt):
    vis = has_kpt[:, None].float().expand(-1, 5).clone()
    return InstanceData(
        bboxes=boxes,
        labels=torch.zeros(boxes.size(0), dtype=torch.long),
        keypoints=kpts,
        keypoints_visible=vis)


def _reference_loss(head, preds, faces, img_hw):
    cls, bbox, kpt, _ = head.flatten_preds(*preds)
    priors = ref.pixel_priors(ref.cfg_mnet, img_hw)
    targets = [reference_targets(b, (k, h)) for b, k, h in faces]
    crit = ref.MultiBoxLoss(2, 0.35, True, 0, True, 7, 0.35, False)
    loss_l, loss_c, loss_landm = crit((bbox, cls, kpt), priors, targets)
    return dict(
        loss_cls=float(loss_c),
        loss_bbox=2 * float(loss_l),
        loss_landmark=float(loss_landm))


@pytest.mark.parametrize('seed', range(3))
def test_loss_equals_reference_multibox_loss(seed):
    g = torch.Generator().manual_seed(seed)
    img_hw = (96, 128)
    head = _head()
    preds = _random_preds(head, img_hw, 3, g)
    faces = []
    for n in (4, 7, 2):
        boxes, kpts = random_faces(n, img_hw, g, 6., 80.)
        has = torch.rand(n, generator=g) > 0.3
        faces.append((boxes, kpts, has))
    expected = _reference_loss(head, preds, faces, img_hw)
    losses = head.loss_by_feat(*preds, [_instances(*f) for f in faces],
                               [dict(img_shape=img_hw)] * 3)
    for k, v in expected.items():
        assert v > 0
        assert abs(float(losses[k]) - v) <= 1e-5 * max(1., abs(v)), k


def test_loss_no_faces():
    g = torch.Generator().manual_seed(0)
    img_hw = (64, 96)
    head = _head()
    preds = _random_preds(head, img_hw, 2, g)
    empty = InstanceData(
        bboxes=torch.zeros(0, 4),
        labels=torch.zeros(0, dtype=torch.long),
        keypoints=torch.zeros(0, 5, 2),
        keypoints_visible=torch.zeros(0, 5))
    for p in preds:
        for t in p:
            t.requires_grad_(True)
    losses = head.loss_by_feat(*preds, [empty, empty],
                               [dict(img_shape=img_hw)] * 2)
    assert losses['loss_cls'] > 0
    assert losses['loss_bbox'] == 0 and losses['loss_landmark'] == 0
    # cross-entropy of exactly num_neg_no_pos hardest anchors per image
    cls, _, _, _ = head.flatten_preds(*preds)
    ce = -cls.detach().log_softmax(-1)[..., 0]
    top = ce.topk(head.num_neg_no_pos, dim=1).values.sum()
    assert torch.allclose(losses['loss_cls'], top, rtol=1e-5)
    sum(losses.values()).backward()  # every branch stays in the graph
    assert all(t.grad is not None for p in preds for t in p)


def test_loss_faces_without_landmarks():
    g = torch.Generator().manual_seed(3)
    img_hw = (96, 96)
    head = _head()
    preds = _random_preds(head, img_hw, 2, g)
    faces = []
    for n in (3, 5):
        boxes, kpts = random_faces(n, img_hw, g, 10., 60.)
        faces.append((boxes, kpts, torch.zeros(n, dtype=torch.bool)))
    losses = head.loss_by_feat(*preds, [_instances(*f) for f in faces],
                               [dict(img_shape=img_hw)] * 2)
    assert losses['loss_cls'] > 0 and losses['loss_bbox'] > 0
    assert losses['loss_landmark'] == 0
    expected = _reference_loss(head, preds, faces, img_hw)
    assert expected['loss_landmark'] == 0
    assert abs(float(losses['loss_cls']) - expected['loss_cls']) < 1e-4


def test_loss_ignored_faces_and_weights():
    g = torch.Generator().manual_seed(5)
    img_hw = (64, 64)
    head = _head(loss_weights=dict(loss_bbox=1.0))
    preds = _random_preds(head, img_hw, 1, g)
    boxes, kpts = random_faces(2, img_hw, g, 10., 40.)
    inst = _instances(boxes, kpts, torch.ones(2, dtype=torch.bool))
    ign = InstanceData(bboxes=torch.tensor([[0., 0., 63., 63.]]))
    base = head.loss_by_feat(*preds, [inst], [dict(img_shape=img_hw)])
    with_ign = head.loss_by_feat(*preds, [inst], [dict(img_shape=img_hw)],
                                 [ign])
    assert torch.allclose(base['loss_bbox'], with_ign['loss_bbox'])
    assert not torch.allclose(base['loss_cls'], with_ign['loss_cls'])
    full = _head()
    assert torch.allclose(
        full.loss_by_feat(*preds, [inst],
                          [dict(img_shape=img_hw)])['loss_bbox'],
        2 * base['loss_bbox'])


def test_predict_decode_rescale_and_nms():
    g = torch.Generator().manual_seed(1)
    img_hw = (80, 112)
    head = _head()
    preds = _random_preds(head, img_hw, 1, g)
    meta = dict(img_shape=img_hw, scale_factor=(2.0, 1.6))
    # rescaling divides boxes and keypoints by the scale factor (before NMS:
    # the +1 NMS works in original image pixels, as the reference)
    raw_all, res_all = [
        head.predict_by_feat(
            *preds, batch_img_metas=[meta], rescale=r, with_nms=False)[0]
        for r in (False, True)
    ]
    assert torch.allclose(res_all.keypoints,
                          raw_all.keypoints / torch.tensor([2.0, 1.6]))
    assert torch.allclose(res_all.bboxes,
                          raw_all.bboxes / torch.tensor([2.0, 1.6, 2.0, 1.6]))
    res = head.predict_by_feat(*preds, batch_img_metas=[meta], rescale=True)[0]
    assert set(res.keys()) >= {'bboxes', 'scores', 'labels', 'keypoints'}
    assert res.keypoints.shape == (len(res), 5, 2)
    assert (res.scores > 0.02).all() and (res.labels == 0).all()
    assert (res.scores[:-1] >= res.scores[1:]).all()
    raw = head.predict_by_feat(
        *preds, batch_img_metas=[meta], rescale=False)[0]

    # vs the reference decode + py_cpu_nms
    cls, bbox, kpt, _ = head.flatten_preds(*preds)
    priors = ref.PriorBox(ref.cfg_mnet, image_size=img_hw).forward()
    h, w = img_hw
    boxes = ref.decode(bbox[0], priors, [0.1, 0.2]) * torch.tensor(
        [w, h, w, h])
    lms = ref.decode_landm(kpt[0], priors, [0.1, 0.2]) * torch.tensor(
        [w, h] * 5)
    scores = cls[0].softmax(-1)[:, 1]
    inds = torch.nonzero(scores > 0.02)[:, 0]
    order = inds[scores[inds].argsort(descending=True)]
    dets = torch.cat([boxes[order], scores[order, None]], 1).numpy()
    keep = ref.py_cpu_nms(dets, 0.4)
    assert len(keep) == len(raw)
    assert np.allclose(raw.bboxes.numpy(), dets[keep, :4], atol=1e-4)
    assert np.allclose(raw.scores.numpy(), dets[keep, 4], atol=1e-6)
    assert np.allclose(
        raw.keypoints.reshape(-1, 10).numpy(),
        lms[order][keep].numpy(),
        atol=1e-4)


def test_nms_offset_one_equals_py_cpu_nms():
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(300, 2, generator=g) * 60
    wh = torch.rand(300, 2, generator=g) * 20 + 0.5
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(300, generator=g)
    _, keep = batched_nms(boxes, scores, torch.zeros(300, dtype=torch.long),
                          dict(type='nms', iou_threshold=0.4, offset=1))
    order = scores.argsort(descending=True)
    dets = torch.cat([boxes, scores[:, None]], 1)[order].numpy()
    expected = order[ref.py_cpu_nms(dets, 0.4)]
    assert torch.equal(keep, expected)
    # the +1 convention matters: without it the result differs
    _, keep0 = batched_nms(boxes, scores, torch.zeros(300, dtype=torch.long),
                           dict(type='nms', iou_threshold=0.4))
    assert not torch.equal(keep0, expected)


def test_predict_empty():
    head = _head()
    img_hw = (32, 32)
    g = torch.Generator().manual_seed(0)
    preds = _random_preds(head, img_hw, 1, g)
    preds[0] = [torch.zeros_like(p) for p in preds[0]]
    for p in preds[0]:
        p[:, 0::2] = 10.  # background everywhere
    res = head.predict_by_feat(
        *preds,
        batch_img_metas=[dict(img_shape=img_hw, scale_factor=(1., 1.))],
        rescale=True)[0]
    assert len(res) == 0
    assert res.bboxes.shape == (0, 4) and res.keypoints.shape == (0, 5, 2)


def test_loss_unlabelled_points_have_no_weight():
    g = torch.Generator().manual_seed(4)
    img_hw = (64, 64)
    head = _head()
    preds = _random_preds(head, img_hw, 1, g)
    boxes, kpts = random_faces(2, img_hw, g, 12., 40.)
    inst = _instances(boxes, kpts, torch.ones(2, dtype=torch.bool))
    full = head.loss_by_feat(*preds, [inst], [dict(img_shape=img_hw)])
    inst.keypoints_visible[0, 2] = 0
    inst.keypoints[0, 2] = float('nan')
    part = head.loss_by_feat(*preds, [inst], [dict(img_shape=img_hw)])
    assert torch.isfinite(part['loss_landmark'])
    assert 0 < part['loss_landmark'] < full['loss_landmark']
    assert torch.equal(part['loss_bbox'], full['loss_bbox'])


def test_anchors_stay_fp32_for_half_outputs():
    """Under AMP the head outputs are fp16; anchors must not be (fp16 rounds
    pixel coordinates above 1024 to whole pixels and more)."""
    head = _head()
    gen = torch.Generator().manual_seed(0)
    cls, box, kpt = _random_preds(head, (1600, 2100), 1, gen)
    half = [[t.half() for t in lvl] for lvl in (cls, box, kpt)]
    *_, anchors_half = head.flatten_preds(*half)
    *_, anchors = head.flatten_preds(cls, box, kpt)
    assert anchors_half.dtype == torch.float32
    assert torch.equal(anchors_half, anchors)
