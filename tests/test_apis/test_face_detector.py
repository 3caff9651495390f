"""FaceDetector: equal to the tools/test.py test loop, input types, test
scales, batching, drawing and errors."""
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
import torch

from tests.test_apis.face_api_utils import (MNET_CFG, S3FD_CFG,
                                            make_checkpoint, random_images,
                                            save_checkpoint)

# NMS off (IoU threshold 1): a 1e-6 change of a score or box (batched
# convolutions round differently) flips NMS decisions among the many
# overlapping boxes of a random model, so batching is compared without it.
NO_NMS = {'model.test_cfg.nms.iou_threshold': 1.0}


def assert_same_faces(a, b, atol=1e-3):
    """Same detections up to float rounding, in any order of equal
    scores: a one-to-one match of (box, score, landmarks) rows."""
    assert len(a) == len(b), (len(a), len(b))
    rows = [
        np.concatenate(
            [r.bboxes, r.scores[:, None] * 100] +
            ([] if r.keypoints is None else [r.keypoints.reshape(len(r), -1)]),
            1) for r in (a, b)
    ]
    dist = np.abs(rows[0][:, None] - rows[1][None]).max(-1)
    match = dist.argmin(1)
    assert len(set(match.tolist())) == len(a)
    assert dist.min(1).max() <= atol


@pytest.fixture(scope='module')
def mnet(mnet_ckpt):
    from mmdet_faces.apis import FaceDetector
    return FaceDetector(MNET_CFG, mnet_ckpt)


def _runner_test_results(config, ckpt, data_root, work_dir, num_imgs):
    """Run mmengine's test loop (what tools/test.py runs) and return
    ``{img_path: pred_instances dict}``."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(config)
    out = osp.join(work_dir, 'results.pkl')
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.update(
        data_root=data_root + '/', indices=num_imgs)
    cfg.test_evaluator = dict(type='DumpDetResults', out_file_path=out)
    cfg.update(work_dir=work_dir, load_from=ckpt, log_level='WARNING')
    cfg.default_hooks.pop('checkpoint', None)
    Runner.from_cfg(cfg).test()
    with open(out, 'rb') as f:
        samples = pickle.load(f)
    return {s['img_path']: s['pred_instances'] for s in samples}


def test_equals_test_loop(mnet, mnet_ckpt, tiny_widerface, tmp_path):
    """Batch 1 (the configs' test batch): bit-identical to the runner."""
    ref = _runner_test_results(
        MNET_CFG, mnet_ckpt, tiny_widerface, str(tmp_path), num_imgs=4)
    assert len(ref) == 4
    paths = sorted(ref)
    results = mnet(paths)
    for path, res in zip(paths, results):
        pred = ref[path]
        assert len(res) > 0
        np.testing.assert_array_equal(res.bboxes, pred['bboxes'].numpy())
        np.testing.assert_array_equal(res.scores, pred['scores'].numpy())
        np.testing.assert_array_equal(res.keypoints, pred['keypoints'].numpy())
        img = cv2.imread(path)
        assert res.img_shape == img.shape[:2]
    # same-size images in one batch: equal up to float rounding of the
    # batched convolutions
    from mmdet_faces.apis import FaceDetector
    one = FaceDetector(MNET_CFG, mnet_ckpt, score_thr=0.5, cfg_options=NO_NMS)
    batched = FaceDetector(
        MNET_CFG, mnet_ckpt, batch_size=4, score_thr=0.5, cfg_options=NO_NMS)
    img = cv2.imread(paths[0])
    ref0 = one(img)
    assert len(ref0) > 0
    for res in batched([img, img.copy(), img[:, ::-1].copy()])[:2]:
        assert_same_faces(res, ref0)


def test_input_types_and_batching(mnet, mnet_ckpt, tmp_path):
    from mmdet_faces.apis import FaceDetections, FaceDetector
    imgs = random_images([(96, 128), (128, 80), (96, 128)], seed=1)
    path = str(tmp_path / 'a.png')
    cv2.imwrite(path, imgs[0])
    single = [mnet(img) for img in imgs]
    for res, img in zip(single, imgs):
        assert isinstance(res, FaceDetections)
        assert res.bboxes.shape == (len(res), 4)
        assert res.scores.shape == (len(res), )
        assert res.keypoints.shape == (len(res), 5, 2)
        assert res.bboxes.dtype == np.float32
        assert res.img_shape == img.shape[:2]
        assert np.all(np.diff(res.scores) <= 0)
        assert (res.scores > 0.02).all()  # the config's threshold
    # path == array (png is lossless), list keeps order, one-element list
    from_path = mnet(path)
    np.testing.assert_array_equal(from_path.bboxes, single[0].bboxes)
    as_list = mnet([imgs[0]])
    assert isinstance(as_list, list) and len(as_list) == 1
    # mixed sizes and types, batched: same detections as one by one
    one = FaceDetector(MNET_CFG, mnet_ckpt, score_thr=0.5, cfg_options=NO_NMS)
    det4 = FaceDetector(
        MNET_CFG, mnet_ckpt, batch_size=4, score_thr=0.5, cfg_options=NO_NMS)
    mixed = det4([imgs[0], imgs[1], path, imgs[2]])
    for res, img in zip(mixed, [imgs[0], imgs[1], imgs[0], imgs[2]]):
        assert res.img_shape == img.shape[:2]
        assert_same_faces(res, one(img))
    # padded mixed batch: runs, results in each image's own coordinates
    padded = FaceDetector(
        MNET_CFG, mnet_ckpt, batch_size=4, pad_mixed_sizes=True)(
            imgs)
    assert [r.img_shape for r in padded] == [i.shape[:2] for i in imgs]
    # score_thr (applied before NMS, same as filtering after it)
    high = FaceDetector(MNET_CFG, mnet_ckpt, score_thr=0.5)(imgs[0])
    assert (high.scores > 0.5).all() and len(high) > 0
    np.testing.assert_array_equal(high.bboxes,
                                  single[0].bboxes[single[0].scores > 0.5])
    # no face at all
    none = FaceDetector(MNET_CFG, mnet_ckpt, score_thr=0.9999)(imgs[0])
    assert none.bboxes.shape == (0, 4) and none.keypoints.shape == (0, 5, 2)
    assert none.to_dict()['boxes'] == []
    # JSON form
    d = single[0].to_dict()
    assert set(d) == {'height', 'width', 'boxes', 'scores', 'landmarks'}
    assert len(d['landmarks'][0]) == 5


def test_test_scale(mnet_ckpt):
    """Resized inputs, detections mapped back to original pixels."""
    import mmcv

    from mmdet_faces.apis import (FaceDetections, FaceDetector,
                                  make_test_pipeline_cfg)
    img = random_images([(80, 120)], seed=2)[0]
    kw = dict(score_thr=0.5, cfg_options=NO_NMS)
    orig = FaceDetector(MNET_CFG, mnet_ckpt, test_scale='original', **kw)

    def scaled_back(res, sx, sy):
        return FaceDetections(res.bboxes / [sx, sy, sx, sy], res.scores,
                              res.keypoints / [sx, sy])

    # float factor == detect on the resized image, divided by the factor
    # (without NMS: it runs after the rescale with the +1 area convention,
    # which is not scale invariant)
    up = FaceDetector(MNET_CFG, mnet_ckpt, test_scale=1.5, **kw)
    big = mmcv.imrescale(img, 1.5)
    assert_same_faces(
        up(img), scaled_back(orig(big), big.shape[1] / 120, big.shape[0] / 80))
    # (short, max_long): the reference ResizeShortSide (float32 resize)
    det = FaceDetector(MNET_CFG, mnet_ckpt, test_scale=(160, 200), **kw)
    steps = det.inferencer.pipeline_cfg
    assert steps[0]['type'] == 'LoadFaceImage'  # paths; arrays: mmdet's
    assert type(det.inferencer.pipeline.transforms[0].from_ndarray
                ).__name__ == 'LoadImageFromNDArray'
    assert dict(
        type='ResizeShortSide', short_side=160, max_long_side=200) in steps
    res = det(img)
    assert res.img_shape == (80, 120) and len(res) > 0
    scale = 200 / 120  # round(2 * 120) > 200: the long side caps it
    big = cv2.resize(img.astype(np.float32), None, fx=scale, fy=scale)
    assert_same_faces(res, scaled_back(orig(big), scale, scale))
    from mmengine.config import Config
    cfg = Config.fromfile(MNET_CFG)
    assert [s['type'] for s in make_test_pipeline_cfg(cfg)
            ] == ['LoadFaceImage', 'ResizeShortSide', 'PackFaceInputs']
    with pytest.raises(ValueError, match='test_scale'):
        make_test_pipeline_cfg(cfg, 'big')


def test_s3fd_and_drawing(tmp_path):
    from mmdet_faces.apis import FaceDetector
    ckpt = make_checkpoint(S3FD_CFG, str(tmp_path / 's3fd.pth'), seed=3)
    det = FaceDetector(S3FD_CFG, ckpt, test_scale='original', batch_size=2)
    imgs = random_images([(64, 96), (64, 96)], seed=3)
    res = det(imgs)
    assert len(res) == 2 and all(r.keypoints is None for r in res)
    assert res[0].bboxes.shape[1] == 4 and len(res[0]) > 0
    assert res[0].to_dict()['landmarks'] is None
    vis = det.draw(imgs[0], res[0], score_thr=0.5)
    assert vis.shape == imgs[0].shape and vis.dtype == np.uint8
    assert not np.array_equal(vis, imgs[0])  # something was drawn
    # landmarks drawn for RetinaFace
    from mmdet_faces.apis import FaceDetections
    faces = FaceDetections(
        bboxes=np.array([[10, 10, 50, 50]], np.float32),
        scores=np.array([0.9], np.float32),
        keypoints=np.array(
            [[[20, 25], [40, 25], [30, 32], [22, 42], [38, 42]]], np.float32),
        img_shape=(64, 96))
    vis = det.draw(imgs[0], faces, draw_scores=False)
    assert (vis[25, 20] != imgs[0][25, 20]).any()
    # a face partly outside the image: the rest of the image is untouched
    # (not shrunk to make room for the outside part)
    faces.bboxes[:] = [-30, -20, 20, 30]
    faces.keypoints[:] -= 40
    vis = det.draw(imgs[0], faces, draw_scores=False)
    np.testing.assert_array_equal(vis[40:, 40:], imgs[0][40:, 40:])


def test_errors(mnet, mnet_ckpt, tmp_path):
    from mmdet_faces.apis import FaceDetector
    with pytest.raises(FileNotFoundError, match='image file not found'):
        mnet(str(tmp_path / 'missing.jpg'))
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='cannot decode'):
        mnet(str(bad))
    with pytest.raises(ValueError, match='H x W x 3'):
        mnet(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match='uint8 or float32'):
        mnet(np.zeros((10, 10, 3), np.int64))
    with pytest.raises(TypeError, match='file path or'):
        mnet([1])
    with pytest.raises(FileNotFoundError, match='config'):
        FaceDetector(str(tmp_path / 'none.py'))
    with pytest.raises(FileNotFoundError, match='checkpoint'):
        FaceDetector(MNET_CFG, str(tmp_path / 'none.pth'))
    # an unconverted reference checkpoint is refused with the converter
    ref = tmp_path / 'mobilenet0.25_Final.pth'
    torch.save(
        {
            'module.body.stage1.0.0.weight': torch.zeros(1),
            'module.ClassHead.0.conv1x1.weight': torch.zeros(1)
        }, ref)
    with pytest.raises(ValueError, match='retinaface_to_mmdet'):
        FaceDetector(MNET_CFG, str(ref))
    # a checkpoint of another architecture does not load silently
    model = FaceDetector(S3FD_CFG).model
    other = save_checkpoint(model, str(tmp_path / 'other.pth'), with_meta=True)
    with pytest.raises(ValueError, match='other.pth does not fit the model'):
        FaceDetector(MNET_CFG, other)


def test_channels_last_and_amp_paths(mnet_ckpt):
    """The amp / channels-last path (explicit preprocess -> network ->
    float32 decoding) gives the test_step results."""
    from mmdet_faces.apis import FaceDetector
    img = random_images([(72, 96)], seed=4)[0]
    kw = dict(score_thr=0.5, cfg_options=NO_NMS)
    ref = FaceDetector(MNET_CFG, mnet_ckpt, **kw)(img)
    cl = FaceDetector(MNET_CFG, mnet_ckpt, channels_last=True, **kw)(img)
    assert_same_faces(cl, ref)
    # bfloat16 on the CPU: only the confident faces are comparable
    amp = FaceDetector(MNET_CFG, mnet_ckpt, amp=True, score_thr=0.5)(img)
    assert amp.bboxes.dtype == np.float32 and amp.keypoints.shape[1:] == (5, 2)


def test_converted_reference_checkpoint(tmp_path):
    """A biubug6 checkpoint converted by the project's converter loads
    (its meta has no dataset_meta: the classes stay ('face',)) and the
    raw file is refused with the conversion command."""
    from mmdet_faces.apis import FaceDetector
    from tests.reference import retinaface_ref as ref
    from tests.test_models.retinaface_utils import load_converter
    net = ref.randomize_(ref.RetinaFace(ref.cfg_mnet, phase='test'), 3)
    src = str(tmp_path / 'mobilenet0.25_Final.pth')
    torch.save(net.state_dict(), src)
    with pytest.raises(ValueError, match='retinaface_to_mmdet.py'):
        FaceDetector(MNET_CFG, src)
    dst = str(tmp_path / 'retinaface_mnet025_ref.pth')
    assert load_converter().convert_file(src, dst) == 'mnet025'
    det = FaceDetector(MNET_CFG, dst)
    assert det.model.dataset_meta['classes'] == ('face', )
    sd = det.model.state_dict()
    assert torch.equal(sd['bbox_head.cls_convs.0.weight'],
                       net.state_dict()['ClassHead.0.conv1x1.weight'])
    res = det(random_images([(64, 80)], seed=6)[0])
    assert res.keypoints.shape == (len(res), 5, 2)


def test_accelerator_input_path_is_the_same(mnet, mnet_ckpt, tiny_widerface):
    """On an accelerator the images reach the data preprocessor as C x H x W
    views of the H x W x C arrays (no host transpose). Run that path on CPU:
    the same detections, bit for bit, as the default path; a batch with an
    empty result and odd array layouts included."""
    import glob

    from mmdet_faces.apis import FaceDetector, FaceInferencer
    hwc = FaceInferencer(MNET_CFG, mnet_ckpt, device='cpu', hwc_inputs=True)
    packs = [
        t for t in hwc.pipeline.transforms
        if type(t).__name__ == 'PackFaceInputs'
    ]
    assert len(packs) == 1 and packs[0].contiguous is False
    paths = sorted(
        glob.glob(osp.join(tiny_widerface, 'val', 'images', '*', '*.jpg')))[:2]
    img = cv2.imread(paths[0])
    inputs = [
        paths[0], paths[1], img[:, ::-1], img[::2, ::2],
        np.ascontiguousarray(img[:40, :40])
    ]
    default = FaceDetector(MNET_CFG, mnet_ckpt, batch_size=3)
    for a, b in zip(
            hwc.to_detections(hwc.predict_samples(inputs, 3)),
            default(inputs)):
        np.testing.assert_array_equal(a.bboxes, b.bboxes)
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.keypoints, b.keypoints)
        assert a.img_shape == b.img_shape
    assert any(len(r) for r in default(inputs))
    # a batch in which one image has no face keeps the per-image split
    high = FaceDetector(MNET_CFG, mnet_ckpt, batch_size=3, score_thr=0.9999)
    res = high([img, img])
    assert [r.bboxes.shape for r in res] == [(0, 4), (0, 4)]
    assert [r.keypoints.shape for r in res] == [(0, 5, 2), (0, 5, 2)]
