import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import TRANSFORMS

import mmdet_faces  # noqa: F401  (registers the transforms)
from mmdet_faces.datasets.transforms import REFERENCE_INTERPOLATIONS
from mmdet_faces.structures import BBoxKeypoints


def sample(h=100, w=200):
    img = (np.arange(h * w * 3) % 253).astype(np.uint8).reshape(h, w, 3)
    boxes = BBoxKeypoints(
        torch.tensor([[10., 20., 50., 60.]]),
        torch.tensor([[[15., 25.], [45., 25.], [30., 40.], [18., 55.],
                       [42., 55.]]]), torch.ones(1, 5))
    return dict(img=img, img_shape=(h, w), ori_shape=(h, w), gt_bboxes=boxes)


def test_random_interp_resize_exact_points():
    t = TRANSFORMS.build(
        dict(type='RandomInterpResize', scale=(640, 640), keep_ratio=False))
    assert t.interpolations == REFERENCE_INTERPOLATIONS == (
        'bilinear', 'bicubic', 'area', 'nearest', 'lanczos')
    np.random.seed(0)
    res = t(sample())
    assert res['img'].shape == (640, 640, 3)
    assert res['scale_factor'] == (3.2, 6.4)
    b = res['gt_bboxes']
    assert torch.allclose(b.tensor, torch.tensor([[32., 128., 160., 384.]]))
    assert torch.allclose(
        b.keypoints[0],
        torch.tensor([[48., 160.], [144., 160.], [96., 256.], [57.6, 352.],
                      [134.4, 352.]]))
    method = res['interpolation']
    assert method in REFERENCE_INTERPOLATIONS
    cv2_flag = dict(
        bilinear=cv2.INTER_LINEAR,
        bicubic=cv2.INTER_CUBIC,
        area=cv2.INTER_AREA,
        nearest=cv2.INTER_NEAREST,
        lanczos=cv2.INTER_LANCZOS4)[method]
    # same pixels as the reference's cv2.resize(image, (640, 640), interp)
    expected = cv2.resize(sample()['img'], (640, 640), interpolation=cv2_flag)
    assert np.array_equal(res['img'], expected)


def test_random_interp_resize_draws_all():
    t = TRANSFORMS.build(
        dict(type='RandomInterpResize', scale=(32, 32), keep_ratio=False))
    np.random.seed(1)
    seen = {t(sample(20, 30))['interpolation'] for _ in range(60)}
    assert seen == set(REFERENCE_INTERPOLATIONS)
    one = TRANSFORMS.build(
        dict(
            type='RandomInterpResize',
            scale=(32, 32),
            interpolations=['nearest']))
    assert one(sample(20, 30))['interpolation'] == 'nearest'
    with pytest.raises(ValueError):
        TRANSFORMS.build(
            dict(
                type='RandomInterpResize',
                scale=(32, 32),
                interpolation='area'))


def reference_scale(h, w, target_size=1600, max_size=2150):
    """biubug6 test_widerface.py."""
    im_size_min, im_size_max = min(h, w), max(h, w)
    resize = float(target_size) / float(im_size_min)
    if np.round(resize * im_size_max) > max_size:
        resize = float(max_size) / float(im_size_max)
    return resize


@pytest.mark.parametrize('h,w', [(768, 1024), (683, 1024), (100, 200),
                                 (1600, 900), (1600, 1600)])
def test_resize_short_side_scale(h, w):
    t = TRANSFORMS.build(
        dict(type='ResizeShortSide', short_side=1600, max_long_side=2150))
    assert t.get_scale(h, w) == reference_scale(h, w)


def test_resize_short_side():
    t = TRANSFORMS.build(
        dict(type='ResizeShortSide', short_side=150, max_long_side=250))
    data = sample(100, 200)
    img = data['img']
    res = t(data)
    scale = 250 / 200  # 150/100 * 200 = 300 > 250
    expected = cv2.resize(
        img.astype(np.float32),
        None,
        None,
        fx=scale,
        fy=scale,
        interpolation=cv2.INTER_LINEAR)
    assert res['img'].dtype == np.float32
    assert np.array_equal(res['img'], expected)
    assert res['img_shape'] == (125, 250) and res['ori_shape'] == (100, 200)
    assert res['scale_factor'] == (scale, scale)
    assert res['gt_bboxes'].keypoints[0,
                                      0].tolist() == [15 * scale, 25 * scale]
    # default: a no-op that still provides scale_factor
    noop = TRANSFORMS.build(dict(type='ResizeShortSide'))
    res = noop(dict(img=img, img_shape=(100, 200)))
    assert res['img'] is img and res['scale_factor'] == (1.0, 1.0)
    # no cap
    res = TRANSFORMS.build(dict(type='ResizeShortSide', short_side=50))(
        dict(img=img))
    assert res['img'].shape[:2] == (50, 100)


def test_resize_short_side_keeps_at_least_one_pixel():
    """(64, 100) on a 1 x 500 image: scale 0.2 would give a 0 px high
    image (cv2 ``!dsize.empty()``); it is kept 1 px high."""
    t = TRANSFORMS.build(
        dict(type='ResizeShortSide', short_side=64, max_long_side=100))
    res = t(sample(1, 500))
    assert res['img'].shape == (1, 100, 3)
    assert res['img_shape'] == (1, 100)
    assert res['scale_factor'] == (0.2, 1.0)
    assert torch.allclose(res['gt_bboxes'].tensor,
                          torch.tensor([[2., 20., 10., 60.]]))
    # a normal size is resized with the single scale, as before
    res = t(sample(100, 200))
    assert res['img'].shape == (50, 100, 3)
    assert res['scale_factor'] == (0.5, 0.5)
