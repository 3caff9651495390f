"""S3FD test-time augmentation: box voting and the per-view rules."""
import numpy as np
import torch

from tests.reference import s3fd_ref as ref


def _dets():
    # two clusters of 3 and 2 boxes, one lonely box, one far duplicate pair
    return np.array(
        [
            [10, 10, 50, 50, .9],
            [12, 11, 52, 49, .8],
            [8, 9, 47, 52, .6],
            [100, 100, 130, 140, .7],
            [102, 98, 131, 141, .5],
            [300, 300, 310, 310, .4],  # alone: dropped by the reference
            [200, 10, 260, 80, .35],
            [205, 12, 262, 78, .3],
        ],
        dtype=np.float64)


def test_bbox_vote_equals_reference():
    from mmdet_faces.models.test_time_augs import bbox_vote
    dets = _dets()
    expect = ref.bbox_vote(dets.copy())
    t = torch.from_numpy(dets).float()
    got = bbox_vote(t[:, :4], t[:, 4])
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got.numpy(), expect, rtol=1e-5, atol=1e-4)
    # score-weighted mean box with the max score
    w = dets[:3, 4:5]
    np.testing.assert_allclose(
        got[0, :4].numpy(), (dets[:3, :4] * w).sum(0) / w.sum(), rtol=1e-5)
    assert abs(float(got[0, 4]) - .9) < 1e-6
    kept = bbox_vote(t[:, :4], t[:, 4], keep_single=True)
    assert kept.shape == (4, 5)
    np.testing.assert_allclose(kept[2].numpy(), dets[5], rtol=1e-6)
    assert bbox_vote(t[:, :4], t[:, 4], max_num=2).shape == (2, 5)
    assert bbox_vote(t[:0, :4], t[:0, 4]).shape == (0, 5)


def test_bbox_vote_random_equals_reference():
    from mmdet_faces.models.test_time_augs import bbox_vote
    rng = np.random.RandomState(0)
    xy = rng.rand(200, 2) * 300
    wh = rng.rand(200, 2) * 60 + 5
    dets = np.concatenate([xy, xy + wh, rng.rand(200, 1)], 1)
    expect = ref.bbox_vote(dets.copy())
    t = torch.from_numpy(dets)
    got = bbox_vote(t[:, :4], t[:, 4])
    np.testing.assert_allclose(got.numpy(), expect, rtol=1e-9, atol=1e-9)


def _sample(bboxes, scores, scale=1., flip=False, shape=(200, 300)):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    s = DetDataSample(
        metainfo=dict(
            ori_shape=shape,
            img_shape=(int(shape[0] * scale), int(shape[1] * scale)),
            scale_factor=(scale, scale),
            flip=flip,
            flip_direction='horizontal' if flip else None))
    s.pred_instances = InstanceData(
        bboxes=torch.tensor(bboxes, dtype=torch.float32).reshape(-1, 4),
        scores=torch.tensor(scores, dtype=torch.float32),
        labels=torch.zeros(len(scores), dtype=torch.long))
    return s


def test_tta_merge_flip_scale_rules_and_vote():
    from mmdet_faces.models.test_time_augs import S3FDTTAModel

    class _Dummy(torch.nn.Module):

        def test_step(self, data):
            return data

    tta = S3FDTTAModel(module=_Dummy())
    face = [40., 40., 90., 100.]  # 51 x 61 with +1
    small = [200., 20., 209., 29.]  # 10 x 10
    big = [100., 50., 260., 190.]  # 161 x 141
    views = [
        _sample([face, small], [.9, .8]),  # original
        # flipped view (boxes in flipped image coordinates)
        _sample([[300 - 91., 41., 300 - 41., 101.],
                 [300 - 209., 20., 300 - 200., 29.]], [.85, .7],
                flip=True),
        # shrunk view: only boxes with longer side > 30 survive
        _sample([small, big, face], [.6, .75, .5], scale=.5),
        # enlarged view: only boxes with shorter side < 100 survive
        _sample([big, [41., 39., 91., 99.], [201., 21., 210., 30.]],
                [.95, .65, .55],
                scale=2.),
    ]
    merged = tta.merge_preds([views])[0].pred_instances
    # `big` appears only in the shrunk view (the enlarged one is filtered)
    # -> a single-box cluster, dropped like the reference does
    assert len(merged) == 2
    assert torch.allclose(merged.scores, torch.tensor([.9, .8]))
    # face cluster: original, flipped back, shrunk and enlarged views
    boxes = torch.tensor(
        [face, [41., 41., 91., 101.], face, [41., 39., 91., 99.]])
    w = torch.tensor([.9, .85, .5, .65])[:, None]
    torch.testing.assert_close(merged.bboxes[0], (boxes * w).sum(0) / w.sum())
    # small cluster: original, flipped back, enlarged (shrunk one dropped)
    boxes = torch.tensor([small, small, [201., 21., 210., 30.]])
    w = torch.tensor([.8, .7, .55])[:, None]
    torch.testing.assert_close(merged.bboxes[1], (boxes * w).sum(0) / w.sum())
    assert (merged.labels == 0).all()
