"""A converted reference checkpoint reproduces the reference network."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from tests.reference import retinaface_ref as ref
from tests.test_models.retinaface_utils import build_retinaface, load_converter
from tests.test_models.train_utils import train_steps

CASES = {
    # arch: (reference cfg, image H x W, seed, head gain)
    'mnet025': (ref.cfg_mnet, (150, 203), 0, 1.0),
    'r50': (ref.cfg_re50, (70, 45), 1, 0.01),
}


def _pair(arch):
    cfg, img_hw, seed, gain = CASES[arch]
    net = ref.randomize_(ref.RetinaFace(cfg, phase='test'), seed, gain).eval()
    conv = load_converter()
    state_dict, used = conv.convert_retinaface(net.state_dict(), 'auto')
    assert used == arch
    model = build_retinaface(arch).eval()
    missing, unexpected = model.load_state_dict(state_dict, strict=True)
    assert not missing and not unexpected
    return net, model, cfg, img_hw, seed


@pytest.mark.parametrize('arch', ['mnet025', 'r50'])
def test_converted_checkpoint_reproduces_reference(arch):
    net, model, cfg, (h, w), seed = _pair(arch)
    g = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (1, 3, h, w), generator=g).float()
    mean = torch.tensor([104., 117., 123.]).view(1, 3, 1, 1)
    with torch.no_grad():
        loc, conf, landms = net(img - mean)
        priors = ref.PriorBox(cfg, image_size=(h, w)).forward()
        scale = torch.tensor([w, h, w, h])
        ref_boxes = ref.decode(loc[0], priors, cfg['variance']) * scale
        ref_lms = ref.decode_landm(landms[0], priors,
                                   cfg['variance']) * torch.tensor([w, h] * 5)
        ref_scores = conf[0, :, 1]

        # ours, through the data preprocessor (mean subtraction, no padding)
        data = model.data_preprocessor(
            dict(
                inputs=[img[0].to(torch.uint8)],
                data_samples=[DetDataSample(metainfo=dict(img_shape=(h, w)))]),
            False)
        assert data['inputs'].shape[-2:] == (h, w)
        feats = model.extract_feat(data['inputs'])
        cls, bbox, kpt, anchors = model.bbox_head.flatten_preds(
            *model.bbox_head(feats))
        scores = cls[0].softmax(-1)[:, 1]
        boxes = model.bbox_head.bbox_coder.decode(
            anchors, bbox[0], wh_ratio_clip=model.bbox_head.wh_ratio_clip)
        lms = model.bbox_head.landmark_coder.decode(anchors, kpt[0])
    assert scores.shape == ref_scores.shape
    # the random network gives a spread of scores, not a constant
    assert ref_scores.std() > 0.01
    assert torch.allclose(scores, ref_scores, atol=1e-4, rtol=0)
    assert torch.allclose(boxes, ref_boxes, atol=1e-4, rtol=1e-5)
    assert torch.allclose(lms.reshape(-1, 10), ref_lms, atol=1e-4, rtol=1e-5)
    assert torch.allclose(bbox[0], loc[0], atol=1e-5)
    assert torch.allclose(kpt[0], landms[0], atol=1e-5)


def test_predict_equals_reference_test_protocol():
    net, model, cfg, (h, w), seed = _pair('mnet025')
    g = torch.Generator().manual_seed(11)
    img = torch.randint(0, 256, (3, h, w), generator=g).to(torch.uint8)
    expected = ref.detect(net, img.permute(1, 2, 0).numpy(), cfg)
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)))
    with torch.no_grad():
        res = model.test_step(dict(inputs=[img],
                                   data_samples=[sample]))[0].pred_instances
    assert len(res) == len(expected) > 0
    assert np.allclose(res.bboxes.numpy(), expected[:, :4], atol=1e-3)
    assert np.allclose(res.scores.numpy(), expected[:, 4], atol=1e-5)
    assert np.allclose(
        res.keypoints.reshape(-1, 10).numpy(), expected[:, 5:], atol=1e-3)


def test_predict_rescales_keypoints_to_original_image():
    _, model, _, (h, w), _ = _pair('mnet025')
    # The +1 NMS is done in original-image pixels (as the reference), so it
    # depends on the scale; with offset 0 the IoU is scale-invariant and the
    # same detections come out, only rescaled.
    model.bbox_head.test_cfg.nms.offset = 0
    g = torch.Generator().manual_seed(2)
    img = torch.randint(0, 256, (3, h, w), generator=g).to(torch.uint8)
    metas = [
        dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)),
        dict(
            img_shape=(h, w),
            ori_shape=(h // 2, int(w / 1.5)),
            scale_factor=(1.5, 2.0))
    ]
    with torch.no_grad():
        a, b = [
            model.test_step(
                dict(inputs=[img], data_samples=[DetDataSample(metainfo=m)
                                                 ]))[0].pred_instances
            for m in metas
        ]
    assert len(a) == len(b) > 0
    assert torch.allclose(b.keypoints, a.keypoints / torch.tensor([1.5, 2.]))
    assert torch.allclose(b.bboxes,
                          a.bboxes / torch.tensor([1.5, 2., 1.5, 2.]))


def _synthetic_batch(num_imgs=2, size=80, seed=0):
    """Noise images with bright 'faces' and landmarks inside them."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(num_imgs):
        img = (torch.rand(3, size, size, generator=g) * 80).to(torch.uint8)
        boxes, kpts = [], []
        for j in range(2 + i):
            s = 16 + 8 * j
            x, y = 4 + 26 * j, 6 + 20 * i
            img[:, y:y + s, x:x + s] = 230
            boxes.append([x, y, x + s, y + s])
            kpts.append([[x + s * .3, y + s * .4], [x + s * .7, y + s * .4],
                         [x + s * .5, y + s * .6], [x + s * .35, y + s * .8],
                         [x + s * .65, y + s * .8]])
        n = len(boxes)
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                scale_factor=(1., 1.)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            labels=torch.zeros(n, dtype=torch.long),
            keypoints=torch.tensor(kpts),
            keypoints_visible=torch.ones(n, 5))
        inputs.append(img)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_training_iterations_reduce_loss():
    torch.manual_seed(0)
    model = build_retinaface('mnet025')
    model.train()
    logs = train_steps(model, _synthetic_batch(), 8, 0.02)
    assert set(logs[0]) == {'loss_cls', 'loss_bbox', 'loss_landmark', 'loss'}
    history = [log['loss'] for log in logs]
    assert np.isfinite(history).all()
    assert np.mean(history[-3:]) < 0.7 * np.mean(history[:3]), history
