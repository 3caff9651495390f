"""LetterboxResize is bubbliiiing's letterbox_image, and the head maps
detections back as its retinaface_correct_boxes does."""
import numpy as np
import torch

from mmdet_faces.datasets.transforms import LetterboxResize
from mmdet_faces.models.utils import rescale_to_image
from tests.reference import bubbliiiing_retinaface_ref as bref


def test_letterbox_rows_map_back_like_the_reference():
    """LetterboxResize + rescale_to_image (the heads' test-time mapping)
    invert the canvas mapping exactly as retinaface_correct_boxes
    (unrounded size)."""
    for h, w in ((97, 61), (150, 203), (1280, 40)):
        img = np.zeros((h, w, 3), np.uint8)
        res = LetterboxResize(size=(320, 256))(dict(img=img))
        assert res['img'].shape == (256, 320, 3)
        pts = np.random.RandomState(0).rand(6, 4) * [320, 256, 320, 256]
        rows = np.concatenate([pts / [320, 256, 320, 256],
                               np.zeros((6, 11))], 1)
        expected = bref.retinaface_correct_boxes(
            rows.copy(), np.array([256, 320]), np.array([h, w]))[:, :4] * \
            [w, h, w, h]
        boxes, _ = rescale_to_image(
            torch.tensor(pts), torch.zeros(6, 5, 2), res)
        assert np.allclose(boxes.numpy(), expected, atol=1e-6)
        # the pixels: the reference's canvas
        ref_img = bref.letterbox_image(img.astype(np.float32), [320, 256])
        assert np.array_equal(res['img'], ref_img.astype(np.float32))


def test_gt_boxes_follow_the_canvas():
    from mmdet.structures.bbox import HorizontalBoxes
    img = np.zeros((100, 50, 3), np.uint8)
    boxes = HorizontalBoxes(torch.tensor([[0., 0., 50., 100.]]))
    res = LetterboxResize(size=(200, 200))(dict(img=img, gt_bboxes=boxes))
    # scale 2, centred: x offset (200 - 100) / 2
    assert torch.allclose(res['gt_bboxes'].tensor,
                          torch.tensor([[50., 0., 150., 200.]]))
    assert res['scale_factor'] == (2.0, 2.0)
    assert np.allclose(res['homography_matrix'],
                       [[2, 0, 50], [0, 2, 0], [0, 0, 1]])
