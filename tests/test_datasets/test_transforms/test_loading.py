import cv2
import numpy as np
import pytest
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes

import mmdet_faces.datasets.transforms.loading as loading
from mmdet_faces.datasets import empty_face_anns
from mmdet_faces.structures import BBoxKeypoints


def face_anns(rows):
    """rows: (box xyxy, landmarks (10,) or None, ignore, line)."""
    out = np.zeros((len(rows), 32), dtype=np.float32)
    for i, (box, lmk, ignore, line) in enumerate(rows):
        out[i, 0:4] = box
        if lmk is None:
            out[i, 4:14] = -1
        else:
            out[i, 4:14] = lmk
            out[i, 14:19] = 1
        out[i, 24] = ignore
        out[i, 31] = line
    return out


LMK = [12, 14, 18, 14, 15, 16, 13, 18, 17, 18]


@pytest.fixture
def log(monkeypatch):
    records = []
    monkeypatch.setattr(loading, 'print_log',
                        lambda msg, *a, **k: records.append(msg))
    monkeypatch.setattr(loading.LoadFaceAnnotations, 'num_dropped', 0)
    monkeypatch.setattr(loading.LoadFaceImage, 'num_skipped', 0)
    return records


def test_load_face_annotations(log):
    t = TRANSFORMS.build(dict(type='LoadFaceAnnotations'))
    anns = face_anns([([10, 10, 20, 20], LMK, 0, 2),
                      ([30, 5, 40, 15], None, 1, 3)])
    res = t(dict(face_anns=anns, img_path='x.jpg'))
    boxes = res['gt_bboxes']
    assert isinstance(boxes, BBoxKeypoints)
    assert boxes.tensor.tolist() == [[10, 10, 20, 20], [30, 5, 40, 15]]
    assert boxes.keypoints.shape == (2, 5, 2)
    assert boxes.keypoints[0].reshape(-1).tolist() == LMK
    assert boxes.keypoints_visible.tolist() == [[1] * 5, [0] * 5]
    assert boxes.flip_indices == [1, 0, 2, 4, 3]
    assert res['gt_bboxes_labels'].tolist() == [0, 0]
    assert res['gt_bboxes_labels'].dtype == np.int64
    assert res['gt_ignore_flags'].tolist() == [False, True]
    # the data info is not modified in place
    assert anns[0, 0] == 10

    res = t(dict(face_anns=empty_face_anns()))
    assert len(res['gt_bboxes']) == 0
    assert res['gt_bboxes'].keypoints.shape == (0, 5, 2)
    assert res['gt_ignore_flags'].shape == (0, )
    res = t(dict())  # test-only image: no annotations at all
    assert len(res['gt_bboxes']) == 0

    hbox = TRANSFORMS.build(dict(type='LoadFaceAnnotations', box_type='hbox'))
    res = hbox(dict(face_anns=anns))
    assert type(res['gt_bboxes']) is HorizontalBoxes
    with pytest.raises(ValueError):
        TRANSFORMS.build(dict(type='LoadFaceAnnotations', with_mask=True))
    assert not log


def test_clip_and_drop_out_of_image(log):
    t = TRANSFORMS.build(dict(type='LoadFaceAnnotations'))
    anns = face_anns([
        ([-5, 10, 20, 70], [-2] + LMK[1:], 0, 2),  # clipped: x1 0, y2 50
        ([120, 10, 130, 20], LMK, 0, 3),  # right of a 100-wide image
        ([10, 60, 20, 70], LMK, 1, 4),  # below a 50-high image
        ([30, 5, 40, 15], None, 0, 5),
    ])
    res = t(
        dict(
            face_anns=anns,
            img_path='a/b.jpg',
            ori_shape=(50, 100),
            img_shape=(25, 50)))
    boxes = res['gt_bboxes']
    assert boxes.tensor.tolist() == [[0, 10, 20, 50], [30, 5, 40, 15]]
    assert boxes.keypoints[0, 0].tolist() == [-2, 14]  # not clipped
    assert res['gt_ignore_flags'].tolist() == [False, False]
    assert res['gt_bboxes_labels'].tolist() == [0, 0]
    assert len(log) == 1 and 'dropped 2 boxes' in log[0]
    assert 'a/b.jpg' in log[0] and 'line(s) 3, 4' in log[0]
    # counted: logged again only when the total reaches 10, 100, ...
    for _ in range(3):
        t(dict(face_anns=anns, img_path='a/b.jpg', ori_shape=(50, 100)))
    assert len(log) == 1 and loading.LoadFaceAnnotations.num_dropped == 8
    t(dict(face_anns=anns, img_path='a/b.jpg', ori_shape=(50, 100)))
    assert len(log) == 2 and 'dropped 10 boxes' in log[1]
    # no image shape known -> nothing clipped or dropped
    res = t(dict(face_anns=anns))
    assert len(res['gt_bboxes']) == 4


def test_load_face_image(tmp_path, log):
    img = (np.arange(30 * 40 * 3) % 255).astype(np.uint8).reshape(30, 40, 3)
    ok = str(tmp_path / 'ok.png')
    cv2.imwrite(ok, img)
    raw = (tmp_path / 'ok.png').read_bytes()
    (tmp_path / 'trunc.png').write_bytes(raw[:len(raw) // 2])
    (tmp_path / 'junk.jpg').write_bytes(b'not an image' * 10)
    (tmp_path / 'empty.jpg').write_bytes(b'')

    train = TRANSFORMS.build(dict(type='LoadFaceImage', ignore_empty=True))
    test = TRANSFORMS.build(dict(type='LoadFaceImage'))
    res = test(dict(img_path=ok))
    assert np.array_equal(res['img'], img)
    assert res['ori_shape'] == (30, 40) and res['img_shape'] == (30, 40)

    for name in ['missing.jpg', 'junk.jpg', 'empty.jpg', 'trunc.png']:
        path = str(tmp_path / name)
        assert train(dict(img_path=path)) is None
        with pytest.raises((FileNotFoundError, ValueError)) as err:
            test(dict(img_path=path))
        assert path in str(err.value)
    with pytest.raises(FileNotFoundError):
        test(dict(img_path=str(tmp_path / 'missing.jpg')))
    assert loading.LoadFaceImage.num_skipped == 4
    # one warning for the first skip only (next at 10, 100, ...)
    assert len(log) == 1 and 'missing.jpg' in log[0]
