"""S3FD detector: parity with the reference through the converter, the
input convention, and a few training iterations."""
import copy
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.reference import s3fd_ref as ref

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
H, W = 72, 100  # non-square, exercises the ceil-mode pool


def _converter():
    path = osp.join(REPO, 'tools', 'model_converters', 's3fd_to_mmdet.py')
    spec = importlib.util.spec_from_file_location('s3fd_to_mmdet', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _model_cfg():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', 's3fd_vgg16.py'))
    return copy.deepcopy(cfg.model)


def _build(model_cfg):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmdet_faces  # noqa: F401
    register_all_modules(init_default_scope=True)
    return MODELS.build(model_cfg)


@pytest.fixture(scope='module')
def pair():
    torch.manual_seed(0)
    ref_net = ref.S3FDRef('train').eval()
    with torch.no_grad():  # non-trivial L2Norm scales
        for n in ('L2Norm3_3', 'L2Norm4_3', 'L2Norm5_3'):
            getattr(ref_net, n).weight.uniform_(2., 12.)
    state, kind = _converter().convert_s3fd_state_dict(ref_net.state_dict())
    assert kind == 'full'
    det = _build(_model_cfg()).eval()
    det.load_state_dict(state, strict=True)
    return ref_net, det


@pytest.mark.parametrize('size', [(H, W), (131, 77)])
def test_converted_checkpoint_reproduces_reference_outputs(pair, size):
    ref_net, det = pair
    h, w = size
    x = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(1))
    x = x * 60.
    with torch.no_grad():
        loc, conf, priors = ref_net(x)
        cls_scores, bbox_preds = det.bbox_head(det.extract_feat(x))
        scores, bboxes, _ = det.bbox_head.decode_all(cls_scores, bbox_preds)
    ref_scores = conf.softmax(-1)[0, :, 1]
    ref_boxes = ref.decode(loc[0], priors, ref.VARIANCE) * torch.tensor(
        [w, h, w, h])
    assert scores.shape[1] == ref_scores.numel() == priors.size(0)
    # per-anchor face scores (after max-out + softmax) and decoded boxes
    # (pixels) agree to 1e-4
    assert (scores[0, :, 0] - ref_scores).abs().max() < 1e-4
    assert (bboxes[0] - ref_boxes).abs().max() < 1e-4
    assert ref_scores.std() > 1e-3  # not a degenerate comparison
    # the max-out level really selects among the 3 background channels
    with torch.no_grad():
        f = x.clone()
        for layer in ref_net.vgg[:16]:
            f = layer(f)
        conf0 = ref_net.conf[0](ref_net.L2Norm3_3(f))
    assert len(conf0[0, :3].argmax(0).unique()) > 1


def test_detections_equal_reference_detect(pair):
    from mmdet.structures import DetDataSample
    ref_net, det = pair
    x = torch.randn(1, 3, H, W, generator=torch.Generator().manual_seed(2))
    x = x * 60.
    ref_test = ref.S3FDRef('test').eval()
    ref_test.load_state_dict(ref_net.state_dict())
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(H, W), ori_shape=(H, W), scale_factor=(1., 1.)))
    with torch.no_grad():
        out = ref_test(x)[0, 1]
        pred = det.predict(x, [sample], rescale=True)[0].pred_instances
    out = out[out[:, 0] > 0]
    assert len(pred) == len(out) > 0
    torch.testing.assert_close(pred.scores, out[:, 0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(
        pred.bboxes,
        out[:, 1:] * torch.tensor([W, H, W, H]),
        rtol=1e-4,
        atol=1e-3)


def test_data_preprocessor_feeds_what_the_reference_feeds(pair):
    """S3FD.pytorch: RGB image -> BGR, minus (104, 117, 123), -> RGB."""
    _, det = pair
    rgb = np.random.RandomState(0).randint(0, 256, (H, W, 3)).astype(np.uint8)
    x = np.swapaxes(np.swapaxes(rgb, 1, 2), 1, 0)[[2, 1, 0]].astype(np.float32)
    x -= np.array([104., 117., 123.], np.float32)[:, None, None]
    x = x[[2, 1, 0]]
    bgr = torch.from_numpy(rgb[..., ::-1].copy()).permute(2, 0, 1)
    data = det.data_preprocessor(dict(inputs=[bgr], data_samples=None))
    np.testing.assert_allclose(data['inputs'][0].numpy(), x)


def test_training_iterations_reduce_loss():
    from mmdet.structures import DetDataSample
    from mmengine.optim import OptimWrapper
    from mmengine.structures import InstanceData

    torch.manual_seed(0)
    cfg = _model_cfg()
    cfg.backbone.widen_factor = 0.125
    cfg.bbox_head.in_channels = (32, 64, 64, 128, 64, 32)
    det = _build(cfg)
    det.init_weights()
    det.train()
    imgs, samples = [], []
    g = torch.Generator().manual_seed(0)
    cases = ([[8., 8., 40., 44.]], [[30., 20., 52., 46.], [4., 40., 20.,
                                                           60.]], [])
    for boxes in cases:
        img = torch.randint(
            0, 255, (3, 64, 64), generator=g, dtype=torch.uint8)
        s = DetDataSample(
            metainfo=dict(
                img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1., 1.)))
        s.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes).reshape(-1, 4),
            labels=torch.zeros(len(boxes), dtype=torch.long))
        imgs.append(img)
        samples.append(s)
    optim = OptimWrapper(torch.optim.Adam(det.parameters(), lr=1e-3))
    data = dict(inputs=imgs, data_samples=samples)
    losses = []
    for _ in range(6):
        log = det.train_step(data, optim)
        losses.append(float(torch.as_tensor(log['loss']).detach()))
        assert np.isfinite(losses[-1])
    assert min(losses[-2:]) < losses[0]
