"""The DetInferencer patches: a registered LoadImageFromFile subclass is
found as the image loader; keypoints in the prediction dicts and files.
(The stock entry points that use them: tests/test_tools/test_mmdet_demos.py.)
"""
import json

import pytest
import torch
from mmdet.apis import DetInferencer
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

import mmcv_patches
import mmdet_faces  # noqa: F401  (registers LoadFaceImage)


def test_patches_applied():
    for name in ('inferencer.det_loader_subclasses',
                 'inferencer.det_pred_keypoints'):
        assert name in mmcv_patches.applied_patches()


@pytest.mark.parametrize('steps, idx', [
    (['LoadFaceImage', 'ResizeShortSide', 'PackFaceInputs'], 0),
    (['Resize', 'LoadImageFromFile', 'PackDetInputs'], 1),
    (['mmdet.LoadImageFromNDArray', 'PackDetInputs'], 0),
    (['Resize', 'PackDetInputs'], -1),
    (['NoSuchTransform', 'PackDetInputs'], -1),
])
def test_loader_found_by_registered_class(steps, idx):
    from mmcv.transforms import LoadImageFromFile
    pipeline = [dict(type=t) for t in steps]
    found = DetInferencer._get_transform_idx(
        None, pipeline, ('LoadImageFromFile', LoadImageFromFile))
    assert found == idx
    # a name-only query (no class) stays upstream's exact match
    assert DetInferencer._get_transform_idx(
        None, pipeline,
        ('LoadFaceImage', )) == (0 if steps[0] == 'LoadFaceImage' else -1)


def _sample(keypoints: bool, img_path=None):
    inst = InstanceData()
    inst.bboxes = torch.tensor([[1., 2., 30., 40.]])
    inst.scores = torch.tensor([0.9])
    inst.labels = torch.tensor([0])
    if keypoints:
        inst.keypoints = torch.arange(10.).reshape(1, 5, 2)
    return DetDataSample(pred_instances=inst, metainfo=dict(img_path=img_path))


def test_pred2dict_keypoints_and_file_names(tmp_path):
    """Keypoints in the dict and in ``preds/<name>.json``, named as
    upstream names them (image file name, else a running count)."""
    fake = type('Inferencer', (), {'num_predicted_imgs': 0})()
    plain = DetInferencer.pred2dict(fake, _sample(False), '')
    assert set(plain) == {'labels', 'scores', 'bboxes'}
    res = DetInferencer.pred2dict(fake, _sample(True, '/x/photo.jpg'),
                                  str(tmp_path))
    assert res['keypoints'] == [[[0., 1.], [2., 3.], [4., 5.], [6., 7.],
                                 [8., 9.]]]
    assert res['bboxes'] == plain['bboxes']
    with open(tmp_path / 'preds' / 'photo.json') as f:
        assert json.load(f) == res
    DetInferencer.pred2dict(fake, _sample(True), str(tmp_path))
    assert fake.num_predicted_imgs == 1
    with open(tmp_path / 'preds' / '0.json') as f:
        assert json.load(f)['keypoints'] == res['keypoints']
