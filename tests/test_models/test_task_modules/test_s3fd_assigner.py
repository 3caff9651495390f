"""S3FDAssigner: each matching stage, and equality with the reference."""
import pytest
import torch

from tests.reference import s3fd_ref as ref

STAGE_NEG, STAGE_IOU, STAGE_BEST, STAGE_COMP = 0, 1, 2, 3


def _assigner(**kwargs):
    from mmdet_faces.models.task_modules.assigners import S3FDAssigner
    return S3FDAssigner(**kwargs)


def _one(assigner, priors, gts):
    gts = torch.tensor(gts, dtype=torch.float32)
    return assigner.batch_assign(
        torch.tensor(priors, dtype=torch.float32), gts[None],
        torch.ones(1, gts.size(0), dtype=torch.bool))


def test_threshold_stage():
    # gt [0, 0, 100, 10]; an anchor [0, 0, w, 10] has IoU w / 100
    priors = [[0, 0, 100, 10], [0, 0, 50, 10], [0, 0, 36, 10], [0, 0, 34, 10],
              [200, 200, 300, 210]]
    res = _one(_assigner(), priors, [[0, 0, 100, 10]])
    assert res.stages[0].tolist() == [
        STAGE_BEST, STAGE_IOU, STAGE_IOU, STAGE_COMP, STAGE_NEG
    ]
    torch.testing.assert_close(res.max_overlaps[0],
                               torch.tensor([1., .5, .36, .34, 0.]))
    assert res.gt_inds[0].tolist() == [1, 1, 1, 1, 0]


def test_best_anchor_stage_low_iou_and_shared_anchor():
    priors = [[0, 0, 20, 10], [0, 0, 10, 10], [500, 0, 600, 10]]
    # gt 0's best anchor has IoU 0.2 < 0.35: still matched (best-anchor
    # stage), and it does not count in the compensation budget N
    res = _one(_assigner(), priors, [[0, 0, 100, 10]])
    assert res.stages[0].tolist() == [STAGE_BEST, STAGE_NEG, STAGE_NEG]
    assert int(res.num_comp[0]) == 0
    # two gts sharing their best anchor: the last one wins (reference loop)
    gts = [[0, 0, 21, 10], [0, 0, 19, 10]]
    res = _one(_assigner(), priors, gts)
    assert res.stages[0, 0] == STAGE_BEST
    assert int(res.gt_inds[0, 0]) == 2
    d = ref.match([0.1, 0.35, 0.5], torch.tensor(gts, dtype=torch.float32),
                  _center(torch.tensor(priors, dtype=torch.float32)),
                  [0.1, 0.2], torch.ones(2, dtype=torch.long),
                  torch.zeros(1, 3, 4), torch.zeros(1, 3, dtype=torch.long), 0)
    assert int(d['best_truth_idx'][0]) == 1


def test_compensation_count_and_rank_order():
    # gt A and gt B each have an IoU-1 anchor, gt C's best is 0.4
    # -> N = (3 + 2) // 2 = 2
    a_cands = [[0, 0, 15, 10], [0, 0, 30, 10], [0, 0, 5, 10], [0, 0, 20, 10],
               [0, 0, 12, 10]]  # IoU .15 .3 .05 .2 .12
    priors = a_cands + [[0, 0, 100, 10], [0, 100, 100, 110], [0, 300, 40, 310]]
    gts = [[0, 0, 100, 10], [0, 100, 100, 110], [0, 300, 100, 310]]
    res = _one(_assigner(), priors, gts)
    assert int(res.num_comp[0]) == 2
    stages = res.stages[0].tolist()
    # the two best candidates by IoU (0.3 and 0.2), not by index
    assert stages[:5] == [
        STAGE_NEG, STAGE_COMP, STAGE_NEG, STAGE_COMP, STAGE_NEG
    ]
    assert stages[5:] == [STAGE_BEST, STAGE_BEST, STAGE_BEST]
    # compensated anchors regress to their best-IoU gt
    assert res.gt_inds[0, 1] == 1 and res.gt_inds[0, 3] == 1
    # N is capped by the number of candidates in (0.1, 0.35)
    priors2 = [[0, 0, 30, 10], [0, 0, 5, 10], [0, 0, 100, 10],
               [0, 100, 100, 110], [0, 300, 40, 310]]
    res = _one(_assigner(), priors2, gts)
    assert res.stages[0].tolist() == [
        STAGE_COMP, STAGE_NEG, STAGE_BEST, STAGE_BEST, STAGE_BEST
    ]


def test_empty_and_padded_batch():
    a = _assigner()
    priors = torch.tensor([[0, 0, 10, 10], [5, 5, 15, 15.]])
    res = a.batch_assign(priors, torch.zeros(2, 0, 4),
                         torch.zeros(2, 0, dtype=torch.bool))
    assert res.gt_inds.shape == (2, 2) and not res.gt_inds.any()
    gts = torch.tensor([[[0, 0, 10, 10.]], [[0, 0, 0, 0.]]])
    valid = torch.tensor([[True], [False]])
    res = a.batch_assign(priors, gts, valid)
    # p1 has IoU 25/175 with the gt: a compensation candidate, N = 1
    assert res.gt_inds[0].tolist() == [1, 1]
    assert res.stages[0].tolist() == [STAGE_BEST, STAGE_COMP]
    assert res.gt_inds[1].tolist() == [0, 0]


def _center(point):
    return torch.cat(
        [(point[:, :2] + point[:, 2:]) / 2, point[:, 2:] - point[:, :2]], 1)


def _s3fd_anchors(h, w):
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    strides = [4, 8, 16, 32, 64, 128]
    gen = AnchorGenerator(
        strides=strides,
        ratios=[1.],
        scales=[1.],
        base_sizes=[16, 32, 64, 128, 256, 512],
        centers=[(s / 2, s / 2) for s in strides])
    sizes = [(-(-h // s), -(-w // s)) for s in strides]
    return torch.cat(gen.grid_priors(sizes, device='cpu'))


@pytest.mark.parametrize('seed', range(6))
def test_matches_reference_match(seed):
    """Random faces on real S3FD anchors: positives, matched gts, the
    compensation count and the encoded targets equal ``match``."""
    g = torch.Generator().manual_seed(seed)
    h, w = 200, 280
    priors = _s3fd_anchors(h, w)
    n = int(torch.randint(1, 12, (1, ), generator=g))
    wh = torch.rand(n, 2, generator=g) * 110 + 4
    xy = torch.rand(n, 2, generator=g) * torch.tensor([w, h]) - wh / 3
    gts = torch.cat([xy, xy + wh], 1)
    a = _assigner()
    res = a.batch_assign(priors, gts[None], torch.ones(1, n, dtype=bool))
    loc_t = torch.zeros(1, priors.size(0), 4)
    conf_t = torch.zeros(1, priors.size(0), dtype=torch.long)
    d = ref.match([0.1, 0.35, 0.5], gts, _center(priors), [0.1, 0.2],
                  torch.ones(n, dtype=torch.long), loc_t, conf_t, 0)
    pos = res.gt_inds[0] > 0
    assert torch.equal(pos, conf_t[0] > 0)
    assert torch.equal(res.gt_inds[0][pos] - 1, d['best_truth_idx'][pos])
    assert int((res.stages[0] == STAGE_COMP).sum()) == d['num_comp']
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    coder = DeltaXYWHBBoxCoder(target_stds=[0.1, 0.1, 0.2, 0.2])
    tgt = coder.encode(priors[pos], gts[res.gt_inds[0][pos] - 1])
    torch.testing.assert_close(tgt, loc_t[0][pos], rtol=1e-4, atol=1e-4)


def test_assign_interface():
    from mmengine.structures import InstanceData
    a = _assigner()
    pred = InstanceData(
        priors=torch.tensor([[0, 0, 10, 10], [50, 50, 60, 60.]]))
    gt = InstanceData(
        bboxes=torch.tensor([[1, 1, 10, 10.]]), labels=torch.tensor([0]))
    r = a.assign(pred, gt)
    assert r.gt_inds.tolist() == [1, 0]
    assert r.labels.tolist() == [0, -1]
    assert r.num_gts == 1
