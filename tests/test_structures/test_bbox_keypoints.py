import copy

import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes, get_box_type, scale_boxes

from mmdet_faces.structures import FACE_FLIP_INDICES, BBoxKeypoints


def make():
    boxes = torch.tensor([[10., 20., 50., 80.], [0., 0., 4., 4.]])
    kpts = torch.tensor([
        [[20., 40.], [40., 41.], [30., 50.], [22., 65.], [38., 66.]],
        [[1., 1.], [3., 1.], [2., 2.], [1., 3.], [3., 3.]],
    ])
    vis = torch.tensor([[1., 1., 1., 1., 1.], [0., 0., 0., 0., 0.]])
    return BBoxKeypoints(boxes, kpts, vis)


def test_registered_and_defaults():
    name, cls = get_box_type('bbox_kpt')
    assert cls is BBoxKeypoints and name == 'bbox_kpt'
    b = make()
    assert b.flip_indices == list(FACE_FLIP_INDICES) == [1, 0, 2, 4, 3]
    assert b.num_keypoints == 5
    assert b.has_keypoints.tolist() == [True, False]
    # no keypoints given -> K = 0, still a valid box
    plain = BBoxKeypoints([[0, 0, 1, 1]])
    assert plain.keypoints.shape == (1, 0, 2)
    assert plain.keypoints_visible.shape == (1, 0)
    with pytest.raises(ValueError):
        BBoxKeypoints([[0, 0, 1, 1]], torch.zeros(2, 5, 2))
    with pytest.raises(ValueError):
        BBoxKeypoints([[0, 0, 1, 1]],
                      torch.zeros(1, 5, 2),
                      flip_indices=[0, 0, 1, 2, 3])


def test_empty():
    e = BBoxKeypoints(
        torch.zeros(0, 4), torch.zeros(0, 5, 2), torch.zeros(0, 5))
    assert len(e) == 0 and e.keypoints.shape == (0, 5, 2)
    e.flip_((10, 20))
    e.translate_((1, 2))
    e.rescale_((2, 2))
    e.clip_((5, 5))
    e.rotate_((5, 5), 30)
    e.project_(np.eye(3, dtype=np.float32))
    assert e.keypoints.shape == (0, 5, 2)
    assert e[torch.zeros(0, dtype=torch.bool)].keypoints.shape == (0, 5, 2)
    assert make().empty_boxes().keypoints.shape == (0, 5, 2)
    cat = BBoxKeypoints.cat([e, make()])
    assert len(cat) == 2 and cat.keypoints.shape == (2, 5, 2)


def test_flip_horizontal_swaps_points():
    b = make()
    b.flip_((100, 200), 'horizontal')
    assert b.tensor[0].tolist() == [150., 20., 190., 80.]
    # x mirrored (200 - x), then order 1,0,2,4,3
    assert b.keypoints[0].tolist() == [[160., 41.], [180., 40.], [170., 50.],
                                       [162., 66.], [178., 65.]]
    assert b.keypoints_visible[1].tolist() == [0.] * 5
    # flipping twice restores everything
    b.flip_((100, 200), 'horizontal')
    ref = make()
    assert torch.equal(b.tensor, ref.tensor)
    assert torch.equal(b.keypoints, ref.keypoints)


def test_flip_vertical_and_diagonal():
    b = make()
    b.flip_((100, 200), 'vertical')
    assert b.tensor[0].tolist() == [10., 20., 50., 80.]
    assert b.keypoints[0].tolist() == [[20., 60.], [40., 59.], [30., 50.],
                                       [22., 35.], [38., 34.]]
    b = make()
    b.flip_((100, 200), 'diagonal')
    assert b.tensor[0].tolist() == [150., 20., 190., 80.]
    assert b.keypoints[0].tolist() == [[160., 59.], [180., 60.], [170., 50.],
                                       [162., 34.], [178., 35.]]


def test_translate_rescale_resize_clip():
    b = make()
    b.translate_((5, -10))
    assert b.tensor[0].tolist() == [15., 10., 55., 70.]
    assert b.keypoints[0, 0].tolist() == [25., 30.]
    b = make()
    b.rescale_((0.5, 2.0))
    assert b.tensor[0].tolist() == [5., 40., 25., 160.]
    assert b.keypoints[0, 4].tolist() == [19., 132.]
    b = make()
    b.resize_((2.0, 2.0))  # box size about its centre; points unchanged
    assert b.tensor[0].tolist() == [-10., -10., 70., 110.]
    assert torch.equal(b.keypoints, make().keypoints)
    b = make()
    b.translate_((-15, 0))
    b.clip_((60, 30))
    assert b.tensor[0].tolist() == [0., 20., 30., 60.]
    # landmarks keep their positions (x = 20 - 15 = 5, ... 40 - 15 = 25)
    assert b.keypoints[0, :, 0].tolist() == [5., 25., 15., 7., 23.]
    assert b.keypoints[1, 0].tolist() == [-14., 1.]


def test_rotate_and_project():
    b = make()
    b.rotate_((0., 0.), 90)  # clockwise 90 degrees (mmdet convention)
    # a point (x, y) -> (-y, x) for a clockwise rotation in image coords
    assert torch.allclose(
        b.keypoints[0, 0], torch.tensor([-40., 20.]), atol=1e-4)
    ref = HorizontalBoxes(make().tensor)
    ref.rotate_((0., 0.), 90)
    assert torch.allclose(b.tensor, ref.tensor)
    b = make()
    m = np.array([[2, 0, 3], [0, 1, -1], [0, 0, 1]], dtype=np.float32)
    b.project_(m)
    assert b.tensor[0].tolist() == [23., 19., 103., 79.]
    assert b.keypoints[0, 1].tolist() == [83., 40.]


def test_indexing_and_setitem():
    b = make()
    sub = b[torch.tensor([False, True])]
    assert len(sub) == 1 and sub.keypoints[0, 0].tolist() == [1., 1.]
    sub = b[np.array([True, False])]
    assert sub.tensor[0].tolist() == [10., 20., 50., 80.]
    one = b[1]
    assert one.tensor.shape == (1, 4) and one.keypoints.shape == (1, 5, 2)
    idx = b[torch.tensor([1, 0, 1])]
    assert len(idx) == 3 and idx.keypoints_visible[:, 0].tolist() == [0, 1, 0]
    assert len(b[[0]]) == 1 and len(b[0:1]) == 1
    assert isinstance(sub, BBoxKeypoints)
    assert sub.flip_indices == [1, 0, 2, 4, 3]
    c = make()
    c[0] = make()[1]
    assert c.tensor[0].tolist() == [0., 0., 4., 4.]
    assert c.keypoints[0, 0].tolist() == [1., 1.]


def test_cat_clone_to_copy_split():
    a, b = make(), make()
    b.translate_((1, 1))
    c = BBoxKeypoints.cat([a, b])
    assert len(c) == 4 and c.keypoints[2:, 0].tolist() == [[21., 41.],
                                                           [2., 2.]]
    s = BBoxKeypoints.stack([a, b])
    assert s.tensor.shape == (2, 2, 4) and s.keypoints.shape == (2, 2, 5, 2)
    d = a.clone()
    d.keypoints += 1
    assert a.keypoints[0, 0].tolist() == [20., 40.]
    e = copy.deepcopy(a)
    e.keypoints_visible[0, 0] = 0
    assert a.keypoints_visible[0, 0] == 1
    f = a.to(torch.float64)
    assert f.dtype == torch.float64 and f.keypoints.dtype == torch.float64
    assert a.cpu().keypoints.shape == (2, 5, 2)
    assert a.detach().keypoints_visible.shape == (2, 5)
    parts = c.split(2)
    assert len(parts) == 2 and torch.equal(parts[1].keypoints, b.keypoints)
    assert len(c.chunk(4)) == 4
    assert s.unbind()[1].keypoints.shape == (2, 5, 2)
    assert isinstance(a.numpy(), np.ndarray) and a.numpy().shape == (2, 4)
    r = c.reshape(2, 2, 4)
    assert r.keypoints.shape == (2, 2, 5, 2)
    assert r.flatten().keypoints.shape == (4, 5, 2)
    assert a.unsqueeze(0).keypoints.shape == (1, 2, 5, 2)
    assert a.unsqueeze(0).squeeze(0).keypoints.shape == (2, 5, 2)
    assert a.view(-1, 4).keypoints.shape == (2, 5, 2)
    with pytest.raises(NotImplementedError):
        a.repeat(2, 1)
    fake = a.fake_boxes((3, 4), fill=1)
    assert fake.keypoints.shape == (3, 5, 2)


def test_convert_and_overlaps():
    a = make()
    h = a.convert_to('hbox')
    assert type(h) is HorizontalBoxes and torch.equal(h.tensor, a.tensor)
    back = h.convert_to('bbox_kpt')
    assert isinstance(back, BBoxKeypoints) and back.num_keypoints == 0
    ious = HorizontalBoxes.overlaps(a, a)
    assert torch.allclose(ious.diagonal(), torch.ones(2))
    scaled = scale_boxes(a.clone(), (2.0, 3.0))
    assert scaled.keypoints[0, 0].tolist() == [40., 120.]
    assert a.to_hbox().tensor.data_ptr() == a.tensor.data_ptr()
