import pytest
import torch
from mmengine.structures import InstanceData

from mmdet_faces.models import LandmarkCoder, RetinaFaceAssigner
from tests.reference import retinaface_ref as ref
from tests.test_models.retinaface_utils import random_faces


def _anchors(img_hw):
    """Reference PriorBox anchors (pixels) as x1y1x2y2 and centre form."""
    centre = ref.pixel_priors(ref.cfg_mnet, img_hw)
    return ref.point_form(centre), centre


def _reference_assign(boxes, centre):
    """Reference match() with labels = 1..G so conf_t = matched index + 1."""
    num = centre.size(0)
    loc_t = torch.zeros(1, num, 4)
    conf_t = torch.zeros(1, num, dtype=torch.long)
    landm_t = torch.zeros(1, num, 10)
    labels = torch.arange(1, boxes.size(0) + 1).float()
    ref.match(0.35, boxes, centre, [0.1, 0.2], labels,
              torch.zeros(boxes.size(0), 10), loc_t, conf_t, landm_t, 0)
    return conf_t[0]


@pytest.mark.parametrize('seed', range(6))
def test_assigner_matches_reference_random(seed):
    g = torch.Generator().manual_seed(seed)
    img_hw = (150, 203)
    anchors, centre = _anchors(img_hw)
    # mixed sizes: tiny faces (best IoU < 0.2) and normal ones
    boxes, _ = random_faces(12, img_hw, g, min_size=2., max_size=90.)
    expected = _reference_assign(boxes, centre)
    assigned, _ = RetinaFaceAssigner().assign_batch(
        anchors, boxes, torch.zeros(12, dtype=torch.long), 1)
    assert torch.equal(assigned[0], expected)


def test_assigner_batched_equals_per_image_and_quirks():
    g = torch.Generator().manual_seed(7)
    img_hw = (96, 128)
    anchors, centre = _anchors(img_hw)
    per_img = [random_faces(n, img_hw, g, 2., 70.)[0] for n in (5, 0, 9)]
    boxes = torch.cat(per_img)
    inds = torch.cat(
        [torch.full((b.size(0), ), i) for i, b in enumerate(per_img)]).long()
    assigned, _ = RetinaFaceAssigner().assign_batch(anchors, boxes, inds, 3)
    offset = 0
    for i, b in enumerate(per_img):
        if b.size(0) == 0:
            assert (assigned[i] == 0).all()  # an image with no faces
            continue
        exp = _reference_assign(b, centre)
        got = torch.where(assigned[i] > 0, assigned[i] - offset, assigned[i])
        assert torch.equal(got, exp)
        offset += b.size(0)


def test_assigner_min_pos_iou_and_hard_gt_claim():
    img_hw = (64, 64)
    anchors, centre = _anchors(img_hw)
    # anchor 0: the 16px anchor centred (4, 4); face 0 overlaps it well,
    # face 1 (5x5, best IoU 25/256 < 0.2) has the same best anchor.
    boxes = torch.tensor([[-3., -3., 11., 11.], [1.5, 1.5, 6.5, 6.5]])
    iou = ref.jaccard(boxes, anchors)
    assert iou[1].max() < 0.2 and iou[1].argmax() == iou[0].argmax() == 0
    expected = _reference_assign(boxes, centre)
    assigned, overlaps = RetinaFaceAssigner().assign_batch(
        anchors, boxes, torch.zeros(2, dtype=torch.long), 1)
    assert torch.equal(assigned[0], expected)
    assert assigned[0, 0] == 2  # the reference loop: the hard face claims it
    assert overlaps[0, 0] == 2
    assigned, _ = RetinaFaceAssigner(hard_gt_claims=False).assign_batch(
        anchors, boxes, torch.zeros(2, dtype=torch.long), 1)
    assert assigned[0, 0] == 1
    # alone, the hard face is not force-matched: everything is background
    assigned, _ = RetinaFaceAssigner().assign_batch(
        anchors, boxes[1:], torch.zeros(1, dtype=torch.long), 1)
    assert (assigned == 0).all()
    assert (_reference_assign(boxes[1:], centre) == 0).all()


def test_assigner_ties_later_face_wins():
    img_hw = (64, 64)
    anchors, centre = _anchors(img_hw)
    box = torch.tensor([[20., 20., 44., 44.]])
    boxes = torch.cat([box, box, box + 0.25])
    expected = _reference_assign(boxes, centre)
    assigned, _ = RetinaFaceAssigner().assign_batch(
        anchors, boxes, torch.zeros(3, dtype=torch.long), 1)
    assert torch.equal(assigned[0], expected)
    # the claimed anchor goes to a later duplicate, the others to face 1
    assert (assigned[0] >= 2).any() and (assigned[0] == 1).any()


def test_assigner_ignore_and_single_image_api():
    img_hw = (64, 64)
    anchors, _ = _anchors(img_hw)
    gt = InstanceData(
        bboxes=torch.tensor([[4., 4., 20., 20.]]), labels=torch.tensor([0]))
    ign = InstanceData(bboxes=torch.tensor([[30., 30., 62., 62.]]))
    res = RetinaFaceAssigner().assign(InstanceData(priors=anchors), gt, ign)
    iou_ign = ref.jaccard(ign.bboxes, anchors)[0]
    assert (res.gt_inds[(iou_ign >= 0.35)] == -1).all()
    assert (res.gt_inds > 0).sum() >= 1
    assert (res.labels[res.gt_inds > 0] == 0).all()
    assert res.num_gts == 1


def test_landmark_coder_matches_reference():
    g = torch.Generator().manual_seed(0)
    centre = ref.pixel_priors(ref.cfg_mnet, (40, 56))
    anchors = ref.point_form(centre)
    pts = torch.rand(centre.size(0), 5, 2, generator=g) * 60
    coder = LandmarkCoder()
    enc = coder.encode(anchors, pts)
    assert torch.allclose(
        enc,
        ref.encode_landm(pts.reshape(-1, 10), centre, [0.1, 0.2]),
        atol=1e-5)
    dec = coder.decode(anchors, enc)
    assert torch.allclose(dec, pts, atol=1e-4)
    assert torch.allclose(
        dec.reshape(-1, 10),
        ref.decode_landm(enc, centre, [0.1, 0.2]),
        atol=1e-4)
