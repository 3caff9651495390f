"""FaceInferencer: mmdet's DetInferencer for faces (its own __call__ with
test_scale, the same-size batching, AMP decoding in float32) and, through
model.test_step, any mmdet detector, two-stage ones included."""
import json

import cv2
import numpy as np
import pytest
import torch

from tests.test_apis.face_api_utils import MNET_CFG, random_images


def test_det_inferencer_call(mnet_ckpt, tmp_path):
    """DetInferencer's own __call__ (folder, batches, drawings, JSON with
    keypoints) with the face additions (test_scale): FaceDetector's
    detections."""
    from mmdet.apis import DetInferencer

    from mmdet_faces.apis import FaceDetector, FaceInferencer
    folder = tmp_path / 'imgs'
    folder.mkdir()
    imgs = random_images([(96, 128), (96, 128), (80, 64)], seed=7)
    for i, img in enumerate(imgs):
        cv2.imwrite(str(folder / f'{i}.png'), img)
    inferencer = FaceInferencer(
        MNET_CFG,
        mnet_ckpt,
        device='cpu',
        test_scale=0.75,
        show_progress=False)
    assert isinstance(inferencer, DetInferencer)
    out = tmp_path / 'out'
    preds = inferencer(
        str(folder),
        batch_size=2,
        out_dir=str(out),
        pred_score_thr=0.5,
        no_save_pred=False)['predictions']
    det = FaceDetector(MNET_CFG, mnet_ckpt, test_scale=0.75, batch_size=2)
    expected = det([str(folder / f'{i}.png') for i in range(3)])
    assert len(preds) == 3
    for i, (pred, res) in enumerate(zip(preds, expected)):
        assert len(res) > 0
        np.testing.assert_array_equal(np.float32(pred['bboxes']), res.bboxes)
        np.testing.assert_array_equal(
            np.float32(pred['keypoints']), res.keypoints)
        with open(out / 'preds' / f'{i}.json') as f:
            assert json.load(f)['keypoints'] == pred['keypoints']
        assert (out / 'vis' / f'{i}.png').is_file()


def test_same_size_batches_in_input_order(mnet_ckpt):
    """Consecutive images of one size share a batch; another size starts a
    new one (any size with pad_mixed_sizes); the order is kept."""
    from mmdet_faces.apis import FaceInferencer
    a, b = random_images([(64, 80), (80, 64)], seed=8)
    inputs = [a, a, b, a, a, a]
    inferencer = FaceInferencer(MNET_CFG, mnet_ckpt, device='cpu')
    chunks = [ori for ori, _ in inferencer.preprocess(inputs, batch_size=2)]
    assert [len(c) for c in chunks] == [2, 1, 2, 1]
    ids = [
        s.img_id for _, data in inferencer.preprocess(inputs, 2)
        for s in data['data_samples']
    ]
    assert ids == list(range(6))
    inferencer.pad_mixed_sizes = True
    chunks = [ori for ori, _ in inferencer.preprocess(inputs, batch_size=4)]
    assert [len(c) for c in chunks] == [4, 2]


def test_amp_network_low_precision_decoding_float32(mnet_ckpt, monkeypatch):
    """With amp the network runs under bf16 autocast (CPU) and the head's
    decoding + NMS on float32 inputs with autocast off."""
    from mmdet_faces.apis import FaceInferencer
    from mmdet_faces.models.dense_heads import RetinaFaceHead
    seen = []
    predict_by_feat = RetinaFaceHead.predict_by_feat

    def record(self, cls_scores, *args, **kwargs):
        seen.append((torch.is_autocast_enabled('cpu'), cls_scores[0].dtype))
        return predict_by_feat(self, cls_scores, *args, **kwargs)

    monkeypatch.setattr(RetinaFaceHead, 'predict_by_feat', record)
    inferencer = FaceInferencer(MNET_CFG, mnet_ckpt, device='cpu', amp=True)
    feats = []
    inferencer.model.backbone.register_forward_hook(
        lambda m, args, out: feats.append(out[-1].dtype))
    img = random_images([(72, 96)], seed=4)[0]
    res = inferencer.to_detections(inferencer.predict_samples([img]))[0]
    assert feats == [torch.bfloat16]
    assert seen == [(False, torch.float32)]
    assert res.bboxes.dtype == np.float32 and len(res) > 0


@pytest.fixture(scope='module')
def faster_rcnn(tmp_path_factory):
    """A small random Faster R-CNN (mmdet's config, ResNet-18) and its
    checkpoint."""
    folder = tmp_path_factory.mktemp('two_stage')
    config = folder / 'faster_rcnn_r18.py'
    config.write_text(
        "_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'\n"
        "custom_imports = dict(imports=['mmdet_faces', 'mmcv_patches'],\n"
        '                      allow_failed_imports=False)\n'
        'model = dict(backbone=dict(depth=18, init_cfg=None),\n'
        '             neck=dict(in_channels=[64, 128, 256, 512]),\n'
        '             test_cfg=dict(rcnn=dict(score_thr=0.0)))\n')
    from mmdet.registry import MODELS
    from mmengine.config import Config
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    ckpt = str(folder / 'faster_rcnn_r18.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    return str(config), ckpt


def test_two_stage_detector(faster_rcnn):
    """model.test_step serves a two-stage detector: FaceDetector's boxes
    and scores are mmdet's inference_detector's, bit for bit."""
    from mmdet.apis import inference_detector, init_detector

    from mmdet_faces.apis import FaceDetector
    config, ckpt = faster_rcnn
    small = {'test_dataloader.dataset.pipeline.1.scale': (160, 128)}
    img = random_images([(96, 128)], seed=9)[0]
    res = FaceDetector(config, ckpt, cfg_options=small)(img)
    ref = inference_detector(
        init_detector(config, ckpt, device='cpu', cfg_options=small),
        img).pred_instances
    assert len(res) > 0 and res.keypoints is None
    np.testing.assert_array_equal(res.bboxes, ref.bboxes.numpy())
    np.testing.assert_array_equal(res.scores, ref.scores.numpy())
