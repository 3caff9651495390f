"""The batched predict path of the dense heads gives exactly the per-image
path's detections (run on CPU by forcing it with
``test_cfg.batched_predict=True``), also where scores tie: both take equal
scores by candidate index."""
import copy

import pytest
import torch
from mmengine.config import ConfigDict

from mmdet_faces.models.utils import (multi_image_nms, ranked_nms,
                                      use_batched_predict)

METAS = [
    dict(img_shape=(96, 128), scale_factor=(0.5, 0.5)),
    dict(img_shape=(96, 128), scale_factor=(1.3, 0.9)),
    dict(img_shape=(96, 128), scale_factor=(1., 1.)),
]


def _build(cfg):
    from mmdet.registry import MODELS

    import mmdet_faces  # noqa: F401
    torch.manual_seed(0)
    return MODELS.build(cfg).eval()


def _feats(channels, sizes, scale=1.):
    gen = torch.Generator().manual_seed(1)
    feats = [
        torch.randn(3, c, h, w, generator=gen) * scale
        for c, (h, w) in zip(channels, sizes)
    ]
    for f in feats:  # image 2: flat features, a few candidates at most
        f[2] = f[2] * 0.01
    return feats


def _compare(head, outs, cfg, rescale=True, with_nms=True, metas=METAS):
    cfgs = []
    for batched in (False, True):
        c = ConfigDict(copy.deepcopy(cfg))
        c.batched_predict = batched
        cfgs.append(c)
    with torch.no_grad():
        ref, out = (
            head.predict_by_feat(
                *outs,
                batch_img_metas=metas,
                cfg=c,
                rescale=rescale,
                with_nms=with_nms) for c in cfgs)
    assert len(ref) == len(out) == len(METAS)
    for a, b in zip(ref, out):
        assert set(a.keys()) == set(b.keys())
        for k in a.keys():
            assert torch.equal(a[k], b[k]), k
    return ref


def _ties(results) -> int:
    """Detections whose score another detection of its image has too."""
    return sum(r.scores.numel() - r.scores.unique().numel() for r in results)


def _fp16_logits(outs):
    """Head outputs rounded to float16, as an AMP network gives them (the
    decoding stays float32): many equal scores."""
    return tuple([t.half().float() for t in level] for level in outs)


def _retinaface_head():
    """A small one-class RetinaFaceHead with the reference test settings."""
    return _build(
        dict(
            type='RetinaFaceHead',
            num_classes=1,
            in_channels=16,
            test_cfg=dict(
                score_thr=0.02,
                nms_pre=-1,
                max_per_img=-1,
                nms=dict(type='nms', iou_threshold=0.4, offset=1))))


S3FD_CHANNELS = (8, 16, 16, 32, 16, 8)
S3FD_SIZES = [(24, 32), (12, 16), (6, 8), (3, 4), (2, 2), (1, 1)]


def _s3fd_head():
    """A narrow S3FDHead with the reference test settings."""
    return _build(
        dict(
            type='S3FDHead',
            in_channels=S3FD_CHANNELS,
            test_cfg=dict(
                nms_pre=5000,
                score_thr=0.05,
                max_per_img=750,
                nms=dict(type='nms', iou_threshold=0.3))))


def test_retinaface_batched_equals_per_image():
    head = _retinaface_head()
    with torch.no_grad():
        for conv in head.cls_convs:  # scores varying around the threshold
            conv.bias.view(-1, 2)[:, 0] = 3.
    outs = head(_feats([16] * 3, [(12, 16), (6, 8), (3, 4)], scale=2.))
    base = dict(head.test_cfg)
    ref = _compare(head, outs, base)
    counts = [len(r) for r in ref]
    assert counts[0] > 5 and counts[1] > 5  # the NMS had work
    _compare(head, outs, dict(base, nms_pre=30, max_per_img=7))
    _compare(
        head,
        outs,
        dict(base, nms=dict(type='nms', iou_threshold=0.3)),
        rescale=False)
    _compare(head, outs, dict(base, max_per_img=5), with_nms=False)
    _compare(head, outs, dict(base, score_thr=0.9))  # (nearly) empty


def test_retinaface_two_classes_mmcv_nms_options():
    head = _build(
        dict(
            type='RetinaFaceHead',
            num_classes=2,
            in_channels=16,
            test_cfg=dict(
                score_thr=0.1,
                nms_pre=-1,
                max_per_img=-1,
                nms=dict(type='nms', iou_threshold=0.4))))
    outs = head(_feats([16] * 3, [(12, 16), (6, 8), (3, 4)], scale=2.))
    base = dict(head.test_cfg)
    ref = _compare(head, outs, base)
    assert set(torch.cat([r.labels for r in ref]).tolist()) == {0, 1}
    for nms in (dict(split_thr=20), dict(class_agnostic=True),
                dict(score_threshold=0.3, max_num=4, offset=1)):
        _compare(head, outs,
                 dict(base, nms=dict(type='nms', iou_threshold=0.4, **nms)))


def test_s3fd_batched_equals_per_image():
    head = _s3fd_head()
    outs = head(_feats(S3FD_CHANNELS, S3FD_SIZES, scale=3.))
    base = dict(head.test_cfg)
    ref = _compare(head, outs, base)
    assert len(ref[0]) > 5
    _compare(head, outs, dict(base, nms_pre=40, max_per_img=9))
    _compare(head, outs, dict(base, min_bbox_size=8), rescale=False)


def _scrfd_head(use_kps):
    return _build(
        dict(
            type='SCRFDHead',
            in_channels=8,
            feat_channels=16,
            stacked_convs=1,
            use_kps=use_kps,
            norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
            test_cfg=dict(
                nms_pre=-1,
                min_bbox_size=0,
                score_thr=0.02,
                nms=dict(type='nms', iou_threshold=0.45),
                max_per_img=-1)))


@pytest.mark.parametrize('use_kps', [False, True])
def test_scrfd_batched_equals_per_image(use_kps):
    head = _scrfd_head(use_kps)
    with torch.no_grad():  # scores varying around the threshold, boxes
        for m in head.modules():  # crossing the image borders
            if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
                m.bias.normal_(
                    0.,
                    2.,
                    generator=torch.Generator().manual_seed(m.out_channels))
    outs = head(_feats([8] * 3, [(12, 16), (6, 8), (3, 4)], scale=3.))
    base = dict(head.test_cfg)
    ref = _compare(head, outs, base)
    assert len(ref[0]) > 5
    boxes = torch.cat([r.bboxes for r in ref])
    assert (boxes == 0).any()  # clipped at the border
    metas = copy.deepcopy(METAS)
    metas[1]['border'] = (6., 0., 10., 0.)  # letterboxed: top, _, left
    _compare(head, outs, dict(base, nms_pre=50, max_per_img=8), metas=metas)


def test_tied_scores_same_detections():
    """Saturated scores (1.0), fp16-rounded logits and boxes clipped to one
    identical box: per-image and batched path keep the same detections in
    the same order; equal scores are taken by candidate (anchor) index, so
    an ``nms_pre`` cut inside a tie keeps the first anchors."""
    retina = _retinaface_head()
    feats = _feats([16] * 3, [(12, 16), (6, 8), (3, 4)], scale=2.)
    base = dict(retina.test_cfg)
    for bias in (-4., -30.):  # scores near 1 in fp16; all scores 1.0
        with torch.no_grad():
            for conv in retina.cls_convs:
                conv.bias.view(-1, 2)[:, 0] = bias
            outs = _fp16_logits(retina(feats))
        ref = _compare(retina, outs, base)
        assert _ties(ref) > (50 if bias < -10 else 5), bias
        _compare(retina, outs, dict(base, nms_pre=30, max_per_img=7))
    # all 1.0: the first 30 anchors, in anchor order
    cand = _compare(
        retina, outs, dict(base, nms_pre=30), with_nms=False, rescale=False)[0]
    with torch.no_grad():
        cls, bbox, _, anchors = retina.flatten_preds(*outs)
        first = retina.bbox_coder.decode(anchors[:30], bbox[0, :30])
    assert torch.equal(cand.bboxes, first)

    s3fd = _s3fd_head()
    with torch.no_grad():
        s3fd.cls_convs[0].bias[-1] = 30.  # stride-4 faces: all 1.0
        outs = _fp16_logits(s3fd(_feats(S3FD_CHANNELS, S3FD_SIZES, scale=3.)))
    ref = _compare(s3fd, outs, dict(s3fd.test_cfg))
    assert _ties(ref) > 50
    _compare(s3fd, outs, dict(s3fd.test_cfg, nms_pre=40, max_per_img=9))

    scrfd = _scrfd_head(use_kps=True)
    with torch.no_grad():  # all scores 1.0, every box the whole image
        for m in scrfd.modules():
            if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
                m.bias.fill_(30.)
        outs = scrfd(_feats([8] * 3, [(12, 16), (6, 8), (3, 4)]))
    ref = _compare(scrfd, outs, dict(scrfd.test_cfg), rescale=False)
    assert [len(r) for r in ref] == [1, 1, 1]  # one box kept per image
    assert torch.equal(ref[0].bboxes, torch.tensor([[0., 0., 128., 96.]]))
    _compare(scrfd, outs, dict(scrfd.test_cfg, nms_pre=5, max_per_img=2))


def test_tied_nms_same_kept_boxes():
    """NMS level: ``multi_image_nms`` (one grouped call) keeps, per image,
    exactly what ``ranked_nms`` (mmcv's ``batched_nms`` taking equal scores
    by index) keeps, in the same order: identical boxes, saturated and
    fp16-rounded scores, two classes, +1 areas."""
    gen = torch.Generator().manual_seed(3)
    boxes, scores, labels, imgs = [], [], [], []
    for img in range(3):
        centre = torch.rand(20, 2, generator=gen) * 200
        box = torch.cat([centre, centre + 30], 1).repeat_interleave(12, 0)
        jitter = torch.randn(box.shape, generator=gen).round() * (img > 0)
        score = (torch.rand(len(box), generator=gen) * 0.9 +
                 0.1).half().float()
        score[torch.rand(len(box), generator=gen) < 0.3] = 1.
        boxes.append(box + jitter)
        scores.append(score)
        labels.append(torch.randint(0, 2, (len(box), ), generator=gen))
        imgs.append(torch.full((len(box), ), img))
    boxes, scores, labels, imgs = (
        torch.cat(t) for t in (boxes, scores, labels, imgs))
    for nms in (dict(iou_threshold=0.4,
                     offset=1), dict(iou_threshold=0.5, class_agnostic=True),
                dict(iou_threshold=0.3, split_thr=100, max_num=15)):
        cfg = dict(type='nms', **nms)
        keep = multi_image_nms(boxes, scores, labels, imgs, 3, cfg)
        expected = []
        for img in range(3):
            idx = (imgs == img).nonzero()[:, 0]
            expected.append(idx[ranked_nms(boxes[idx], scores[idx],
                                           labels[idx], cfg)])
        assert torch.equal(keep, torch.cat(expected)), nms
        kept = scores[keep]
        assert kept.numel() - kept.unique().numel() > 5  # ties were kept


def test_when_the_batched_path_is_taken():
    cfg = dict(nms=dict(type='nms', iou_threshold=0.4))
    cuda, cpu = torch.device('cuda'), torch.device('cpu')
    assert use_batched_predict(cfg, 2, cuda)
    assert not use_batched_predict(cfg, 1, cuda)
    assert not use_batched_predict(cfg, 8, cpu)
    assert use_batched_predict(dict(cfg, batched_predict=True), 1, cpu)
    assert not use_batched_predict(dict(cfg, batched_predict=False), 8, cuda)
    assert not use_batched_predict(dict(nms=dict(type='soft_nms')), 8, cuda)
    with pytest.raises(ValueError, match='batched_predict'):
        use_batched_predict(dict(cfg, batched_predict='yes'), 2, cuda)
