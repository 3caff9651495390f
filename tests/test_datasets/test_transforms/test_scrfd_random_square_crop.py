"""SCRFDRandomSquareCrop equals the insightface crop draw for draw."""
import numpy as np
import pytest
import torch
from mmdet.registry import TRANSFORMS

from mmdet_faces.structures import BBoxKeypoints
from tests.reference import scrfd_ref as ref

CHOICES = (0.3, 0.45, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0)


def _faces(rng, n, h, w):
    xy = rng.uniform(0, [w - 20, h - 20], size=(n, 2))
    wh = rng.uniform(4, 40, size=(n, 2))
    boxes = np.concatenate([xy, np.minimum(xy + wh, [w, h])], 1)
    kps = np.stack([
        boxes[:, 0:1] + wh[:, 0:1] * rng.uniform(0, 1, (n, 5)),
        boxes[:, 1:2] + wh[:, 1:2] * rng.uniform(0, 1, (n, 5))
    ], -1)
    return boxes.astype(np.float32), kps.astype(np.float32)


@pytest.mark.parametrize('clip', [True, False])
def test_equals_reference_crop(clip):
    rng = np.random.RandomState(0)
    crop = TRANSFORMS.build(
        dict(
            type='SCRFDRandomSquareCrop',
            crop_choice=CHOICES,
            clip_border=clip))
    for trial in range(12):
        h, w = (int(v) for v in rng.randint(60, 200, size=2))
        img = rng.randint(0, 256, (h, w, 3)).astype(np.uint8)
        boxes, kps = _faces(rng, 6, h, w)
        ignore = np.arange(6) % 3 == 2
        vis = np.ones((6, 5), np.float32)
        vis[1, 2:] = 0  # unlabelled points move along but keep weight 0
        seed = 100 + trial
        np.random.seed(seed)
        expected = ref.random_square_crop(
            dict(
                img=img.copy(),
                gt_bboxes=boxes[~ignore].copy(),
                gt_bboxes_ignore=boxes[ignore].copy(),
                gt_keypointss=np.concatenate([kps, vis[..., None]],
                                             -1)[~ignore]), CHOICES, clip)
        np.random.seed(seed)
        out = crop(
            dict(
                img=img.copy(),
                img_shape=(h, w),
                gt_bboxes=BBoxKeypoints(
                    torch.from_numpy(boxes), torch.from_numpy(kps),
                    torch.from_numpy(vis)),
                gt_bboxes_labels=np.zeros(6, np.int64),
                gt_ignore_flags=ignore.copy()))
        assert np.array_equal(out['img'], expected['img'])
        assert out['img_shape'] == expected['img'].shape[:2]
        flags = out['gt_ignore_flags']
        got = out['gt_bboxes']
        assert np.allclose(got.tensor.numpy()[~flags], expected['gt_bboxes'])
        assert np.allclose(got.tensor.numpy()[flags],
                           expected['gt_bboxes_ignore'])
        assert np.allclose(got.keypoints.numpy()[~flags],
                           expected['gt_keypointss'][..., :2])
        assert np.array_equal(got.keypoints_visible.numpy()[~flags],
                              expected['gt_keypointss'][..., 2])
        assert len(out['gt_bboxes_labels']) == len(flags)


def test_outside_is_grey_and_homography_maps_boxes():
    crop = TRANSFORMS.build(
        dict(
            type='SCRFDRandomSquareCrop',
            crop_choice=(2.0, ),
            clip_border=False))
    img = np.full((50, 80, 3), 7, np.uint8)
    box = np.array([[30., 20., 50., 40.]], np.float32)
    np.random.seed(0)
    out = crop(
        dict(
            img=img,
            img_shape=(50, 80),
            gt_bboxes=BBoxKeypoints(torch.from_numpy(box)),
            gt_ignore_flags=np.zeros(1, bool)))
    assert out['img'].shape == (100, 100, 3)
    assert (out['img'] == 128).any() and (out['img'] == 7).sum() == \
        50 * 80 * 3
    homo = out['homography_matrix']
    moved = (homo @ np.array([30., 20., 1.]))[:2]
    assert np.allclose(moved, out['gt_bboxes'].tensor[0, :2].numpy())


def test_images_without_faces_get_one_crop():
    crop = TRANSFORMS.build(dict(type='SCRFDRandomSquareCrop'))
    np.random.seed(1)
    out = crop(
        dict(
            img=np.zeros((40, 60, 3), np.uint8),
            img_shape=(40, 60),
            gt_bboxes=BBoxKeypoints(torch.zeros(1, 4) + 5),
            gt_ignore_flags=np.ones(1, bool)))
    side = out['img'].shape[0]
    assert out['img'].shape[1] == side and side in {
        int(s * 40)
        for s in CHOICES
    }
    with pytest.raises(ValueError, match='positive'):
        TRANSFORMS.build(
            dict(type='SCRFDRandomSquareCrop', crop_choice=(0.5, 0)))
