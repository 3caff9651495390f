"""FaceDetector: padded batches, bad inputs and bad settings give clear
errors naming the image (not a crash deep in torch / cv2)."""
import numpy as np
import pytest
import torch

from tests.test_apis.face_api_utils import (MNET_CFG, S3FD_CFG,
                                            make_checkpoint, random_images)
from tests.test_apis.test_face_detector import assert_same_faces

NO_NMS = {'model.test_cfg.nms.iou_threshold': 1.0}  # see test_face_detector


@pytest.fixture(scope='module')
def mnet_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp('api_inputs_ckpt') / 'mnet.pth'
    return make_checkpoint(MNET_CFG, str(path), seed=0)


def _centres(res):
    b = res.bboxes
    return (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2


def test_padded_batch_drops_detections_in_the_padding(mnet_ckpt):
    from mmdet_faces.apis import FaceDetector
    small, big = random_images([(64, 80), (200, 300)], seed=1)
    padded = FaceDetector(
        MNET_CFG,
        mnet_ckpt,
        batch_size=2,
        pad_mixed_sizes=True,
        cfg_options=NO_NMS)
    res_small, res_big = padded([small, big])
    assert res_small.img_shape == (64, 80) and len(res_small) > 0
    cx, cy = _centres(res_small)
    assert ((cx >= 0) & (cx <= 80) & (cy >= 0) & (cy <= 64)).all()
    # the image that is not padded keeps all its detections (as unpadded)
    alone = FaceDetector(MNET_CFG, mnet_ckpt, cfg_options=NO_NMS)(big)
    assert len(res_big) == len(alone)
    assert_same_faces(res_big, alone)
    # the padded image's faces inside it are still found
    assert len(res_small) <= len(
        FaceDetector(MNET_CFG, mnet_ckpt, cfg_options=NO_NMS)(small))


def test_input_too_small_for_the_network(tmp_path):
    import cv2

    from mmdet_faces.apis import FaceDetector
    det = FaceDetector(S3FD_CFG, test_scale='original', batch_size=2)
    tiny = random_images([(20, 30)], seed=2)[0]
    with pytest.raises(
            ValueError,
            match=r'image 0 \(input 20x30\).*too '
            r'small for this network.*original error'):
        det(tiny)
    path = str(tmp_path / 'tiny.png')
    cv2.imwrite(path, tiny)
    with pytest.raises(ValueError, match='tiny.png.*too small'):
        det([random_images([(64, 96)], seed=2)[0], path])


def test_test_scale_validation(mnet_ckpt):
    from mmengine.config import Config

    from mmdet_faces.apis import FaceDetector, make_test_pipeline_cfg
    cfg = Config.fromfile(MNET_CFG)
    for bad in (0, -5, (0, 100), (64, 0), (64, -1), (None, 100), (-1, None),
                0.0, (64, 100, 1)):
        with pytest.raises(ValueError, match='test_scale'):
            make_test_pipeline_cfg(cfg, bad)
    with pytest.raises(ValueError, match='test_scale'):
        FaceDetector(MNET_CFG, test_scale=0)
    assert dict(
        type='ResizeShortSide',
        short_side=32) in make_test_pipeline_cfg(cfg, np.int64(32))
    # a 1 px high image whose short side would round to 0 px
    det = FaceDetector(MNET_CFG, mnet_ckpt, test_scale=(64, 100))
    res = det(np.zeros((1, 500, 3), np.uint8))
    assert res.img_shape == (1, 500)
    sample = det.predict_samples([np.zeros((1, 500, 3), np.uint8)])[0]
    assert tuple(sample.metainfo['img_shape']) == (1, 100)
    # a pipeline error on one image names it
    det = FaceDetector(MNET_CFG, mnet_ckpt, test_scale=0.01)
    imgs = random_images([(200, 300)],
                         seed=3) + [np.zeros((1, 1, 3), np.uint8)]
    with pytest.raises(
            ValueError,
            match=r'image 1 \(array of shape '
            r'\(1, 1, 3\)\).*test_scale=0.01'):
        det(imgs)


def test_none_and_non_image_inputs(mnet_ckpt, tmp_path):
    from mmdet_faces.apis import FaceDetector
    det = FaceDetector(MNET_CFG, mnet_ckpt)
    with pytest.raises(TypeError, match='cv2.imread returns None'):
        det(None)
    with pytest.raises(TypeError, match='cv2.imread returns None'):
        det.predict_samples(None)
    with pytest.raises(TypeError, match='file path, an H x W x 3'):
        det(True)
    with pytest.raises(TypeError, match=r'image 1\).*cv2.imread'):
        det([np.zeros((32, 32, 3), np.uint8), None])


@pytest.mark.parametrize('wrapper', ['model', 'weight'])
def test_wrapped_reference_checkpoint(tmp_path, wrapper):
    from mmdet_faces.apis import FaceDetector
    sd = {
        'vgg.0.weight': torch.zeros(1),
        'L2Norm3_3.weight': torch.zeros(1),
        'loc.0.weight': torch.zeros(1)
    }
    path = str(tmp_path / f's3fd_{wrapper}.pth')
    torch.save({wrapper: sd}, path)
    with pytest.raises(ValueError, match='convert it first.*s3fd_to_mmdet'):
        FaceDetector(S3FD_CFG, path)
