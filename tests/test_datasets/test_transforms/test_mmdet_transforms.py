"""mmdet's own geometric transforms move the landmarks via BBoxKeypoints."""
import numpy as np
import torch
from mmdet.registry import TRANSFORMS

import mmdet_faces  # noqa: F401
from mmdet_faces.structures import BBoxKeypoints

KPTS = [[15., 25.], [45., 25.], [30., 40.], [18., 55.], [42., 55.]]


def sample(h=100, w=200):
    img = (np.arange(h * w * 3) % 253).astype(np.uint8).reshape(h, w, 3)
    boxes = BBoxKeypoints(
        torch.tensor([[10., 20., 50., 60.], [150., 70., 190., 95.]]),
        torch.tensor([KPTS, [[0., 0.]] * 5]), torch.tensor([[1.] * 5,
                                                            [0.] * 5]))
    return dict(
        img=img,
        img_shape=(h, w),
        ori_shape=(h, w),
        gt_bboxes=boxes,
        gt_bboxes_labels=np.zeros(2, dtype=np.int64),
        gt_ignore_flags=np.array([False, True]))


def test_random_flip_swaps_and_mirrors():
    t = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0))
    res = t(sample())
    assert res['flip'] and res['flip_direction'] == 'horizontal'
    b = res['gt_bboxes']
    assert b.tensor[0].tolist() == [150., 20., 190., 60.]
    # x -> 200 - x, then points 0<->1 and 3<->4 swap
    assert b.keypoints[0].tolist() == [[155., 25.], [185., 25.], [170., 40.],
                                       [158., 55.], [182., 55.]]
    assert b.keypoints_visible.tolist() == [[1.] * 5, [0.] * 5]
    # the left eye is again on the image left
    assert b.keypoints[0, 0, 0] < b.keypoints[0, 1, 0]
    res = TRANSFORMS.build(dict(type='RandomFlip', prob=0.0))(sample())
    assert res['gt_bboxes'].keypoints[0].tolist() == KPTS


def test_resize_and_pad_keep_points():
    res = TRANSFORMS.build(
        dict(type='Resize', scale=(100, 50), keep_ratio=True))(
            sample())
    assert res['scale_factor'] == (0.5, 0.5)
    assert res['gt_bboxes'].keypoints[0, 4].tolist() == [21., 27.5]
    res = TRANSFORMS.build(dict(type='Pad', size=(256, 128)))(sample())
    assert res['img'].shape[:2] == (128, 256)
    assert res['gt_bboxes'].keypoints[0].tolist() == KPTS
    assert res['gt_bboxes'].tensor[0].tolist() == [10., 20., 50., 60.]


def test_random_crop_keeps_points(monkeypatch):
    monkeypatch.setattr(np.random, 'randint', lambda lo, hi=None: 5)
    t = TRANSFORMS.build(
        dict(type='RandomCrop', crop_size=(60, 60), allow_negative_crop=True))
    res = t(sample())
    # offset (5, 5); the second box falls outside the crop and is removed
    b = res['gt_bboxes']
    assert len(b) == 1 and b.tensor[0].tolist() == [5., 15., 45., 55.]
    assert b.keypoints[0].tolist() == [[10., 20.], [40., 20.], [25., 35.],
                                       [13., 50.], [37., 50.]]
    assert res['gt_ignore_flags'].tolist() == [False]
