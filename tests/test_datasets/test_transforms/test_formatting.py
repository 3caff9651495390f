import numpy as np
import torch
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes

import mmdet_faces  # noqa: F401
from mmdet_faces.structures import BBoxKeypoints


def test_pack_face_inputs():
    kpts = torch.arange(20, dtype=torch.float32).reshape(2, 5, 2)
    results = dict(
        img=np.zeros((8, 10, 3), np.uint8),
        img_id='0--Parade/a',
        img_path='x/0--Parade/a.jpg',
        ori_shape=(8, 10),
        img_shape=(8, 10),
        scale_factor=(1.0, 1.0),
        gt_bboxes=BBoxKeypoints(
            torch.tensor([[1., 2., 3., 4.], [5., 6., 7., 8.]]), kpts,
            torch.tensor([[1.] * 5, [0.] * 5])),
        gt_bboxes_labels=np.zeros(2, dtype=np.int64),
        gt_ignore_flags=np.array([False, True]))
    packed = TRANSFORMS.build(dict(type='PackFaceInputs'))(results)
    assert packed['inputs'].shape == (3, 8, 10)
    sample = packed['data_samples']
    gt = sample.gt_instances
    assert type(gt.bboxes) is HorizontalBoxes
    assert gt.bboxes.tensor.tolist() == [[1., 2., 3., 4.]]
    assert gt.labels.tolist() == [0]
    assert gt.keypoints.dtype == torch.float32
    assert gt.keypoints.tolist() == kpts[:1].tolist()
    assert gt.keypoints_visible.tolist() == [[1.] * 5]
    ign = sample.ignored_instances
    assert type(ign.bboxes) is HorizontalBoxes
    assert ign.keypoints.tolist() == kpts[1:].tolist()
    assert ign.keypoints_visible.tolist() == [[0.] * 5]
    assert sample.img_path == 'x/0--Parade/a.jpg'
    assert sample.scale_factor == (1.0, 1.0)


def test_pack_face_inputs_plain_boxes_and_empty():
    results = dict(
        img=np.zeros((4, 4, 3), np.uint8),
        gt_bboxes=HorizontalBoxes(torch.tensor([[0., 0., 2., 2.]])),
        gt_bboxes_labels=np.zeros(1, dtype=np.int64))
    gt = TRANSFORMS.build(
        dict(type='PackFaceInputs'))(results)['data_samples'].gt_instances
    assert gt.keypoints.shape == (1, 5, 2)
    assert gt.keypoints_visible.sum() == 0
    results = dict(
        img=np.zeros((4, 4, 3), np.uint8),
        gt_bboxes=BBoxKeypoints(
            torch.zeros(0, 4), torch.zeros(0, 5, 2), torch.zeros(0, 5)),
        gt_bboxes_labels=np.zeros(0, dtype=np.int64),
        gt_ignore_flags=np.zeros(0, dtype=bool))
    sample = TRANSFORMS.build(
        dict(type='PackFaceInputs'))(results)['data_samples']
    assert sample.gt_instances.keypoints.shape == (0, 5, 2)
    assert sample.ignored_instances.keypoints_visible.shape == (0, 5)
    # test-only images: nothing to pack
    sample = TRANSFORMS.build(dict(type='PackFaceInputs'))(
        dict(img=np.zeros((4, 4, 3), np.uint8)))['data_samples']
    assert 'bboxes' not in sample.gt_instances


def test_pack_face_inputs_non_contiguous_view():
    """contiguous=False: a C x H x W view of the image (no copy) with the
    same values and metadata as the default dense copy."""
    rng = np.random.RandomState(0)
    img = rng.randint(0, 256, (6, 7, 3)).astype(np.uint8)
    meta = dict(
        img_id='a',
        img_path='a.jpg',
        ori_shape=(6, 7),
        img_shape=(6, 7),
        scale_factor=(1.0, 1.0))
    dense = TRANSFORMS.build(dict(type='PackFaceInputs'))(
        dict(meta, img=img.copy()))
    results = dict(meta, img=img)
    view = TRANSFORMS.build(dict(type='PackFaceInputs', contiguous=False))(
        results)
    assert dense['inputs'].is_contiguous()
    assert not view['inputs'].is_contiguous()
    assert view['inputs'].data_ptr() == img.ctypes.data  # no copy
    assert torch.equal(view['inputs'], dense['inputs'])
    assert view['data_samples'].metainfo == dense['data_samples'].metainfo
    assert results['img'] is img  # the results keep their image
    # a flipped (negative-stride) array and a grey image
    flipped = TRANSFORMS.build(dict(type='PackFaceInputs',
                                    contiguous=False))(dict(
                                        meta, img=img[:, ::-1]))['inputs']
    assert torch.equal(
        flipped,
        torch.from_numpy(
            np.ascontiguousarray(img[:, ::-1].transpose(2, 0, 1))))
    grey = TRANSFORMS.build(dict(type='PackFaceInputs',
                                 contiguous=False))(dict(
                                     meta, img=img[..., 0]))['inputs']
    assert grey.shape == (1, 6, 7)
