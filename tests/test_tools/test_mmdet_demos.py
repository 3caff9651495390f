"""mmdet's own inference entry points on the face configs: ``DetInferencer``
through ``demo/image_demo.py`` (an image, a folder, batches, JSON with
landmarks, drawings with landmarks) and ``demo/video_demo.py`` on a short
generated video; detections equal to ``FaceDetector``'s."""
import itertools
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from tests.test_apis.face_api_utils import (MNET_CFG, REPO_ROOT, S3FD_CFG,
                                            demo_argv, make_checkpoint,
                                            random_images, save_checkpoint,
                                            write_video)
from tests.testing import load_script

_NAMES = itertools.count()


def _load(name):
    return load_script(f'demo/{name}.py')


@pytest.fixture(scope='module')
def detector(mnet_ckpt):
    from mmdet_faces.apis import FaceDetector
    return FaceDetector(MNET_CFG, mnet_ckpt)  # batch 1, as tools/test.py


def _assert_equal_to_api(pred, res):
    """A DetInferencer prediction dict equals FaceDetector's detections."""
    assert len(res) > 0
    np.testing.assert_array_equal(
        np.array(pred['bboxes'], np.float32), res.bboxes)
    np.testing.assert_array_equal(
        np.array(pred['scores'], np.float32), res.scores)
    np.testing.assert_array_equal(
        np.array(pred['keypoints'], np.float32), res.keypoints)
    assert set(pred['labels']) == {0}


def _drawing(img_bgr, res, thr, keypoints=True):
    """RGB drawing of ``res`` by the configs' ``FaceLocalVisualizer``
    (faces above ``thr``), with or without the landmarks."""
    from mmdet.structures import DetDataSample

    from mmdet_faces.visualization import FaceLocalVisualizer
    inst = res.to_instance_data()
    if not keypoints:
        del inst.keypoints
    vis = FaceLocalVisualizer(name=f'demo_test_{next(_NAMES)}')
    vis.dataset_meta = dict(classes=('face', ), palette=[(0, 255, 0)])
    vis.add_datasample(
        'x',
        img_bgr[..., ::-1].copy(),
        DetDataSample(pred_instances=inst),
        draw_gt=False,
        pred_score_thr=thr)
    return vis.get_image()


def _assert_drawn_with_landmarks(drawn_rgb, img_bgr, res, thr):
    """``drawn_rgb`` is the face visualizer's drawing of ``res``, and its
    landmarks show (it differs from the drawing without them)."""
    expected = _drawing(img_bgr, res, thr)
    np.testing.assert_array_equal(drawn_rgb, expected)
    assert (res.scores > thr).any()
    assert not np.array_equal(expected, _drawing(img_bgr, res, thr, False))


def test_image_demo_folder_and_image(mnet_ckpt, detector, tmp_path):
    """demo/image_demo.py (DetInferencer) on a folder: one JSON per image
    with the landmarks, equal to FaceDetector's; drawings with the
    landmarks of the faces above --pred-score-thr."""
    demo = _load('image_demo')
    folder = tmp_path / 'imgs'
    folder.mkdir()
    imgs = random_images([(96, 128), (128, 80)], seed=1)
    for i, img in enumerate(imgs):
        cv2.imwrite(str(folder / f'{i}.png'), img)
    out = tmp_path / 'out'
    results = demo.main([
        str(folder), MNET_CFG, '--weights', mnet_ckpt, '--device', 'cpu',
        '--out-dir',
        str(out), '--pred-score-thr', '0.5'
    ])
    preds = results['predictions']
    assert len(preds) == 2
    for i, pred in enumerate(preds):
        res = detector(str(folder / f'{i}.png'))
        _assert_equal_to_api(pred, res)
        with open(out / 'preds' / f'{i}.json') as f:
            assert json.load(f) == pred  # landmarks in the JSON files too
        drawn = cv2.imread(str(out / 'vis' / f'{i}.png'))[..., ::-1]
        _assert_drawn_with_landmarks(drawn, imgs[i], res, 0.5)
    # one image, nothing drawn above a threshold no face reaches, no JSON
    out2 = tmp_path / 'out2'
    results = demo.main([
        str(folder / '0.png'), MNET_CFG, '--weights', mnet_ckpt, '--device',
        'cpu', '--out-dir',
        str(out2), '--pred-score-thr', '1.0', '--no-save-pred'
    ])
    _assert_equal_to_api(results['predictions'][0], detector(imgs[0]))
    assert not (out2 / 'preds').exists()
    np.testing.assert_array_equal(
        cv2.imread(str(out2 / 'vis' / '0.png')), imgs[0])


def test_det_inferencer_batch_arrays_and_no_save_vis(mnet_ckpt, tmp_path):
    """Batches of same-size arrays: equal to FaceDetector's batches of the
    same images; --no-save-vis writes only the JSON (array inputs are
    numbered as mmdet numbers them)."""
    from mmdet.apis import DetInferencer

    from mmdet_faces.apis import FaceDetector
    imgs = random_images([(96, 128)] * 3, seed=2)
    inferencer = DetInferencer(
        MNET_CFG, mnet_ckpt, device='cpu', show_progress=False)
    out = tmp_path / 'out'
    preds = inferencer(
        imgs,
        batch_size=2,
        out_dir=str(out),
        no_save_vis=True,
        no_save_pred=False)['predictions']
    batched = FaceDetector(MNET_CFG, mnet_ckpt, batch_size=2)(imgs)
    for pred, res in zip(preds, batched):
        _assert_equal_to_api(pred, res)
    assert not (out / 'vis').exists()
    assert sorted(p.name for p in (out / 'preds').iterdir()) == [
        '0.json', '1.json', '2.json'
    ]
    # the returned drawings carry the landmarks as well
    vis = inferencer(imgs[0], return_vis=True, pred_score_thr=0.5)
    assert vis['visualization'][0].shape == imgs[0].shape


def test_det_inferencer_s3fd(tmp_path):
    """A model without landmarks: no keypoints, stock output."""
    from mmdet.apis import DetInferencer

    from mmdet_faces.apis import FaceDetector
    ckpt = make_checkpoint(S3FD_CFG, str(tmp_path / 's3fd.pth'), seed=3)
    img = random_images([(64, 96)], seed=3)[0]
    pred = DetInferencer(
        S3FD_CFG, ckpt, device='cpu',
        show_progress=False)(img)['predictions'][0]
    assert set(pred) == {'labels', 'scores', 'bboxes'}
    res = FaceDetector(S3FD_CFG, ckpt)(img)
    np.testing.assert_array_equal(
        np.array(pred['bboxes'], np.float32), res.bboxes)


def _small_config(config):
    """``configs/<config>`` with its test input at 128 x 128 (fast)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    for step in cfg.test_dataloader.dataset.pipeline:
        if step.type in ('Resize', 'Pad'):
            step.update(
                {'scale' if step.type == 'Resize' else 'size': (128, 128)})
    return cfg


def _family_checkpoint(config, cfg, scrfd_ckpts, path):
    """A checkpoint of ``cfg`` that detects something in a random image:
    the face-like random weights of each family (SCRFD: the converted
    reference ones); RetinaNet's random weights with its classification
    prior raised (bias -1), so that some boxes of its 80 classes
    score above the drawing threshold."""
    if config.startswith('scrfd/'):
        return scrfd_ckpts['500m_kps' if '_kps' in config else '500m']
    if config.startswith('s3fd/'):
        return make_checkpoint(cfg, path, seed=3)
    from mmdet_faces.apis import FaceDetector
    torch.manual_seed(3)
    model = FaceDetector(cfg).model
    with torch.no_grad():
        model.bbox_head.retina_cls.bias.fill_(-1.)
    return save_checkpoint(model, path)


@pytest.mark.parametrize('config', [
    's3fd/s3fd_vgg16_1xb16-200k_widerface.py',
    'scrfd/scrfd_500m_4xb8-640e_widerface.py',
    'scrfd/scrfd_500m_kps_2xb16-640e_widerface.py',
    'retinanet/retinanet_r50_fpn_8xb2-1x_coco.py'
])
def test_det_inferencer_every_config(config, scrfd_ckpts, tmp_path):
    """Every family's config (RetinaFace above) in mmdet's DetInferencer:
    boxes, scores, labels and (where the model predicts them) keypoints
    equal to FaceDetector's for the same image and checkpoint, in the
    returned dict and the JSON file; the drawing is the config's
    visualizer's drawing of FaceDetector's detections."""
    from mmdet.apis import DetInferencer
    from mmdet.registry import VISUALIZERS
    from mmdet.structures import DetDataSample

    from mmdet_faces.apis import FaceDetector
    img = random_images([(64, 96)], seed=5)[0]
    cfg = _small_config(config)
    ckpt = _family_checkpoint(config, cfg, scrfd_ckpts,
                              str(tmp_path / 'model.pth'))
    inferencer = DetInferencer(cfg, ckpt, device='cpu', show_progress=False)
    out, path = tmp_path / 'out', str(tmp_path / 'img.png')
    cv2.imwrite(path, img)
    thr = 0.2
    pred = inferencer(
        path, out_dir=str(out), no_save_pred=False,
        pred_score_thr=thr)['predictions'][0]
    res = FaceDetector(cfg, ckpt).predict_samples([path])[0].pred_instances
    assert len(res) > 0 and (res.scores > thr).any()
    for key in ('bboxes', 'scores', 'labels'):
        np.testing.assert_array_equal(
            np.array(pred[key], res[key].numpy().dtype), res[key].numpy())
    if not config.startswith('retinanet/'):
        assert set(pred['labels']) == {0}
    with_kpts = bool(getattr(inferencer.model.bbox_head, 'num_points', 0))
    assert ('keypoints' in pred) == with_kpts == ('keypoints' in res)
    if with_kpts:
        np.testing.assert_array_equal(
            np.array(pred['keypoints'], np.float32), res.keypoints.numpy())
    with open(out / 'preds' / 'img.json') as f:
        assert json.load(f) == pred
    drawn = cv2.imread(str(out / 'vis' / 'img.png'))[..., ::-1]
    vis = VISUALIZERS.build(
        dict(
            cfg.visualizer,
            name=f'every_config_{next(_NAMES)}',
            vis_backends=None))
    vis.dataset_meta = inferencer.model.dataset_meta
    vis.add_datasample(
        'x',
        img[..., ::-1].copy(),
        DetDataSample(pred_instances=res),
        draw_gt=False,
        pred_score_thr=thr)
    np.testing.assert_array_equal(drawn, vis.get_image())
    assert (drawn != img[..., ::-1]).any()


def test_video_demo(mnet_ckpt, detector, tmp_path):
    """demo/video_demo.py on a generated clip: an annotated video of the
    same frames; its per-frame path (init_detector, inference_detector,
    the config's visualizer) gives FaceDetector's landmarks and draws
    them."""
    demo = _load('video_demo')
    frames = random_images([(96, 128)] * 3, seed=4)
    video = write_video(str(tmp_path / 'clip.avi'), frames, 'MJPG')
    out = str(tmp_path / 'clip_det.mp4')
    demo.main([
        video, MNET_CFG, mnet_ckpt, '--device', 'cpu', '--score-thr', '0.5',
        '--out', out
    ])
    cap = cv2.VideoCapture(out)
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (128, 96)
    cap.release()

    import mmcv
    detect = demo.FrameDetector(MNET_CFG, mnet_ckpt, 'cpu')
    for frame in mmcv.VideoReader(video):
        result, drawn = detect(frame, 0.5)
        res = detector(frame)
        inst = result.pred_instances
        pred = dict(
            bboxes=inst.bboxes.tolist(),
            scores=inst.scores.tolist(),
            keypoints=inst.keypoints.tolist(),
            labels=inst.labels.tolist())
        _assert_equal_to_api(pred, res)
        _assert_drawn_with_landmarks(drawn[..., ::-1], frame, res, 0.5)


def test_webcam_demo(mnet_ckpt, detector, tmp_path, monkeypatch):
    """demo/webcam_demo.py with a generated clip as camera --camera-id 7
    and OpenCV's window calls recorded: each frame's drawing (FaceDetector's
    landmarks) is shown until the stream ends; 'q' quits after a frame;
    the camera is released either way."""
    import cv2
    demo = _load('webcam_demo')
    frames = random_images([(96, 128)] * 3, seed=6)
    video = write_video(str(tmp_path / 'camera.avi'), frames, 'MJPG')
    import mmcv
    decoded = list(mmcv.VideoReader(video))  # the frames the camera gives
    assert len(decoded) == 3
    opened, shown, keys = [], [], []
    capture = cv2.VideoCapture

    class Camera:
        """Camera ``index``: the clip's frames, then the end."""

        def __init__(self, index):
            opened.append(self)
            self.index, self.cap, self.released = index, capture(video), False

        def read(self):
            return self.cap.read()

        def release(self):
            self.cap.release()
            self.released = True

    monkeypatch.setattr(cv2, 'VideoCapture', Camera)
    monkeypatch.setattr(cv2, 'imshow',
                        lambda name, img: shown.append(img.copy()))
    monkeypatch.setattr(cv2, 'waitKey', lambda delay: keys.pop(0))
    argv = [
        MNET_CFG, mnet_ckpt, '--device', 'cpu', '--camera-id', '7',
        '--score-thr', '0.5'
    ]
    keys[:] = [-1] * 3
    demo.main(argv)
    assert len(shown) == 3 and not keys
    assert opened[0].index == 7 and opened[0].released
    for drawn, frame in zip(shown, decoded):
        res = detector(frame)
        _assert_drawn_with_landmarks(drawn[..., ::-1], frame, res, 0.5)
    shown.clear()
    keys[:] = [ord('q')]
    demo.main(argv)
    assert len(shown) == 1 and opened[1].released


@pytest.mark.parametrize('name', ['image_demo', 'video_demo', 'webcam_demo'])
def test_demo_refuses_missing_or_mismatched_checkpoint(name, other_model_ckpts,
                                                       tmp_path, capsys):
    """A missing checkpoint, or one of another detector / width (which
    mmdet's non-strict loading would take with a warning, leaving random
    weights): one line naming it, exit code 2, no traceback, no output."""
    demo = _load(name)
    cases = [(str(tmp_path / 'missing.pth'), 'not found')
             ] + [(path, 'does not fit the model of the config (RetinaFace)')
                  for path in other_model_ckpts.values()]
    for path, words in cases:
        rc = demo.run_cli(demo.main, f'{name}.py',
                          demo_argv(name, path, tmp_path))
        out = capsys.readouterr()
        assert rc == 2
        last = out.err.strip().splitlines()[-1]
        assert last.startswith(f'{name}.py: error: ') and path in last
        assert words in last, last
        assert 'Traceback' not in out.err + out.out
        assert not (tmp_path / 'out').exists()
        assert not (tmp_path / 'out.mp4').exists()
