import numpy as np
import pytest
import torch
from mmdet.registry import TRANSFORMS

from mmdet_faces.structures import BBoxKeypoints


class Script:
    """Replays np.random.randint results and records the bounds asked."""

    def __init__(self, values):
        self.values = list(values)
        self.calls = []

    def __call__(self, high, *args, **kwargs):
        self.calls.append(high)
        value = self.values.pop(0)
        assert 0 <= value < high, (value, high)
        return value


@pytest.fixture
def script(monkeypatch):

    def install(values):
        s = Script(values)
        monkeypatch.setattr(np.random, 'randint', s)
        return s

    return install


def landmarks_of(box):
    x1, y1, x2, y2 = box
    return [[x1 + 2, y1 + 2], [x2 - 2, y1 + 2], [(x1 + x2) / 2, (y1 + y2) / 2],
            [x1 + 2, y2 - 2], [x2 - 2, y2 - 2]]


def sample(boxes, ignore=None, h=100, w=200, kpts=None):
    img = np.arange(h * w * 3, dtype=np.int64).reshape(h, w, 3) % 251
    img = img.astype(np.uint8)
    n = len(boxes)
    kpts = kpts if kpts is not None else [landmarks_of(b) for b in boxes]
    return dict(
        img=img,
        img_shape=(h, w),
        gt_bboxes=BBoxKeypoints(
            torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            torch.tensor(kpts, dtype=torch.float32).reshape(-1, 5, 2),
            torch.ones(n, 5)),
        gt_bboxes_labels=np.zeros(n, dtype=np.int64),
        gt_ignore_flags=np.array(
            ignore if ignore is not None else [False] * n, dtype=bool))


CROP = dict(type='RandomSquareCrop')


def test_crop_centre_rule_and_exact_landmarks(script):
    boxes = [
        [10, 10, 30, 30],  # centre x 20 < 40: dropped
        [50, 40, 90, 80],  # fully inside the crop
        [150, 10, 170, 30],  # centre x 160 > 140: dropped
        [125, 50, 150, 70],  # centre 137.5 inside: kept, clipped
        [130, 50, 150, 70],  # centre 140 on the border: dropped (strict)
    ]
    kpts = [landmarks_of(b) for b in boxes]
    kpts[3][1] = [148., 52.]  # outside the crop after shifting
    s = script([4, 40])  # scale 1.0 -> side 100; left 40; top 0 (no draw)
    res = TRANSFORMS.build(CROP)(sample(boxes, kpts=kpts))
    assert s.calls == [5, 100]  # randrange(len(scales)), randrange(200-100)
    assert res['img'].shape == (100, 100, 3)
    assert res['img_shape'] == (100, 100)
    assert not res['square_padded']
    orig = sample(boxes)['img']
    assert np.array_equal(res['img'], orig[0:100, 40:140])
    out = res['gt_bboxes']
    assert out.tensor.tolist() == [[10, 40, 50, 80], [85, 50, 100, 70]]
    assert out.keypoints[0].tolist() == [[12, 42], [48, 42], [30, 60],
                                         [12, 78], [48, 78]]
    # shifted by -40, then clamped to the crop like the reference
    assert out.keypoints[1].tolist() == [[87, 52], [100, 52], [97.5, 60],
                                         [87, 68], [100, 68]]
    assert res['gt_bboxes_labels'].tolist() == [0, 0]
    assert res['gt_ignore_flags'].tolist() == [False, False]
    assert res['homography_matrix'].tolist() == [[1, 0, -40], [0, 1, 0],
                                                 [0, 0, 1]]

    script([4, 40])
    res = TRANSFORMS.build(dict(CROP, clip_keypoints=False))(
        sample(boxes, kpts=kpts))
    assert res['gt_bboxes'].keypoints[1, 1].tolist() == [108, 52]


def test_scale_and_offsets(script):
    # scale 0.3 of the short side 100 -> int(30.0) = 30 (int truncation)
    s = script([0, 5, 7])
    res = TRANSFORMS.build(CROP)(sample([[6, 8, 20, 30]]))
    assert s.calls == [5, 170, 70]
    assert res['img'].shape[:2] == (30, 30)
    assert res['gt_bboxes'].tensor.tolist() == [[1, 1, 15, 23]]


def test_retries_and_ignored_faces(script):
    # try 1 (scale 0.45 -> 45, at 0,0) holds only the ignored face;
    # try 2 (scale 0.6 -> 60, at 100,20) holds the valid one
    boxes = [[5, 5, 25, 25], [110, 30, 150, 70]]
    s = script([1, 0, 0, 2, 100, 20])
    res = TRANSFORMS.build(CROP)(sample(boxes, ignore=[True, False]))
    assert len(s.values) == 0 and s.calls == [5, 155, 55, 5, 140, 40]
    assert res['img'].shape[:2] == (60, 60)
    assert res['gt_bboxes'].tensor.tolist() == [[10, 10, 50, 50]]
    assert res['gt_ignore_flags'].tolist() == [False]


def test_ignored_face_kept_by_centre_rule(script):
    boxes = [[20, 20, 40, 40], [45, 45, 120, 120]]
    script([4, 0])
    res = TRANSFORMS.build(CROP)(
        sample(boxes, ignore=[False, True], h=100, w=150))
    # the ignored face's centre (82.5, 82.5) is inside: kept and clipped
    assert res['gt_bboxes'].tensor.tolist() == [[20, 20, 40, 40],
                                                [45, 45, 100, 100]]
    assert res['gt_ignore_flags'].tolist() == [False, True]


def test_pad_to_square_on_failure(script):
    # a 150-wide face never fits a square of side <= 100
    boxes = [[0, 0, 150, 100], [20, 20, 40, 40]]
    s = script([4, 10] * 3)
    t = TRANSFORMS.build(dict(CROP, max_tries=3))
    data = sample(boxes, ignore=[False, True])
    img = data['img'].copy()
    res = t(data)
    assert len(s.calls) == 6
    assert res['square_padded'] and res['square_content_shape'] == (100, 200)
    assert res['img'].shape == (200, 200, 3) and res['img_shape'] == (200, 200)
    assert np.array_equal(res['img'][:100], img)
    assert (res['img'][100:] == np.array([104, 117, 123], np.uint8)).all()
    assert res['gt_bboxes'].tensor.tolist() == boxes
    assert res['gt_ignore_flags'].tolist() == [False, True]


def test_tiny_face_never_counts(script):
    # area 0.25 < 1: the reference's iof (area_i / max(area, 1)) stays < 1
    boxes = [[10, 10, 10.5, 10.5]]
    script([4, 0] * 2)
    res = TRANSFORMS.build(dict(CROP, max_tries=2))(sample(boxes))
    assert res['square_padded']


def test_negative_images(script):
    # no faces: one random square crop, still a negative sample
    s = script([2, 17, 3])
    data = sample([])
    res = TRANSFORMS.build(CROP)(data)
    assert s.calls == [5, 140, 40]
    assert res['img'].shape[:2] == (60, 60) and len(res['gt_bboxes']) == 0
    assert res['gt_bboxes'].keypoints.shape == (0, 5, 2)
    # all faces ignored: also one crop, ignored faces follow the centre rule
    script([4, 50])
    res = TRANSFORMS.build(CROP)(
        sample([[60, 10, 80, 30], [0, 0, 10, 10]], ignore=[True, True]))
    assert res['gt_bboxes'].tensor.tolist() == [[10, 10, 30, 30]]
    assert res['gt_ignore_flags'].tolist() == [True]
    # no annotations at all
    script([4, 0])
    res = TRANSFORMS.build(CROP)(dict(img=np.zeros((10, 20, 3), np.uint8)))
    assert res['img'].shape[:2] == (10, 10)


def test_global_rng_is_used():
    data = sample([[50, 40, 90, 80]])
    np.random.seed(3)
    a = TRANSFORMS.build(CROP)(dict(data, gt_bboxes=data['gt_bboxes'].clone()))
    np.random.seed(3)
    b = TRANSFORMS.build(CROP)(dict(data, gt_bboxes=data['gt_bboxes'].clone()))
    assert a['img'].shape == b['img'].shape
    assert torch.equal(a['gt_bboxes'].tensor, b['gt_bboxes'].tensor)
    with pytest.raises(ValueError):
        TRANSFORMS.build(dict(CROP, crop_choice=(0.0, 1.5)))
