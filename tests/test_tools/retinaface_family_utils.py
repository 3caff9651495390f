"""Helpers of the checkpoint-family parity tests (not a test module)."""
import os.path as osp

import cv2
import numpy as np
import torch

from tests.test_models.retinaface_utils import REPO_ROOT, load_converter

conv = load_converter()

# two images of different sizes and aspect ratios (landscape, portrait)
IMAGE_SIZES = ((150, 203), (97, 61))


def random_images(seed=0):
    """Smooth random BGR images (blurred noise: the random networks then
    give a spread of scores, not only background)."""
    rng = np.random.RandomState(seed)
    out = []
    for h, w in IMAGE_SIZES:
        img = rng.randint(0, 256, (h, w, 3)).astype(np.uint8)
        out.append(cv2.GaussianBlur(img, (5, 5), 1.5))
    return out


@torch.no_grad()
def randomize_(net, seed=0, head_gain=1.0, head_names=()):
    """Seeded random weights and non-trivial BatchNorm statistics for any
    network (conv / linear / BN); the head convs (module names containing
    one of ``head_names``) scaled by ``head_gain``."""
    g = torch.Generator().manual_seed(seed)
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.weight.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.num_batches_tracked.fill_(7)
        elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = m.weight[0].numel()
            m.weight.copy_(
                torch.randn(m.weight.shape, generator=g) / fan_in**0.5)
            if m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            if any(h in name for h in head_names):
                m.weight.mul_(head_gain)
    return net.eval()


def build_from_config(config, checkpoint, pipeline_update=None):
    """Our detector and test pipeline from a recipe config (repo-relative
    path), with ``pipeline_update``: ``{transform type: {arg: value}}``.
    ``checkpoint`` is a converted one: its meta names the face class."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.runner import load_checkpoint

    import mmdet_faces  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).eval()
    ckpt = load_checkpoint(
        model, checkpoint, map_location='cpu', strict=True, logger='silent')
    assert ckpt['meta']['dataset_meta'] == dict(classes=('face', ))
    steps = []
    for t in cfg.test_dataloader.dataset.pipeline:
        if t['type'] == 'LoadFaceAnnotations':
            continue
        t = dict(t)
        t.update((pipeline_update or {}).get(t['type'], {}))
        steps.append(t)
    return model, Compose(steps)


@torch.no_grad()
def run_ours(model, pipeline, img_bgr, tmp_path, name='img.png'):
    """Our recipe on one image: per-anchor ``(scores, boxes (N, 4),
    landmarks (N, 10))`` in image pixels, and ``pred_instances``."""
    from mmdet_faces.models.utils import rescale_to_image
    path = str(tmp_path / name)
    cv2.imwrite(path, img_bgr)
    packed = pipeline(dict(img_path=path, img_id=0))
    data = model.data_preprocessor(
        dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]),
        False)
    head = model.bbox_head
    feats = model.extract_feat(data['inputs'])
    cls, bbox, kpt, anchors = head.flatten_preds(*head(feats))
    scores = cls[0].softmax(-1)[:, 1]
    boxes = head.bbox_coder.decode(
        anchors, bbox[0], wh_ratio_clip=head.wh_ratio_clip)
    kpts = head.landmark_coder.decode(anchors, kpt[0])
    meta = data['data_samples'][0].metainfo
    boxes, kpts = rescale_to_image(boxes, kpts, meta)
    pred = model.predict(data['inputs'], data['data_samples'])[0]
    return ((scores.numpy(), boxes.numpy(), kpts.reshape(-1, 10).numpy()),
            pred.pred_instances)


def assert_per_anchor(ours, ref, score_atol=1e-5, px_atol=1e-3):
    """Per-anchor scores and decoded boxes / landmarks equal."""
    for name, a, b, tol in zip(('scores', 'boxes', 'landmarks'), ours, ref,
                               (score_atol, px_atol, px_atol)):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        assert a.shape == b.shape, (name, a.shape, b.shape)
        err = np.abs(a - b).max()
        assert err <= tol, f'{name}: max difference {err} > {tol}'
    assert np.std(ref[0]) > 0.01  # a spread of scores, not a constant


def assert_detections(pred,
                      ref_dets,
                      score_atol=1e-5,
                      px_atol=1e-3,
                      with_landmarks=True):
    """Kept detections equal (``ref_dets``: K x [box, score, landmarks]):
    the same number, each of ours with a reference detection at the same
    place (near-equal scores may come out in either order)."""
    assert len(pred) == len(ref_dets) > 0
    ours = np.concatenate(
        [pred.bboxes.numpy(),
         pred.scores.numpy()[:, None]] +
        ([pred.keypoints.reshape(-1, 10).numpy()] if with_landmarks else []),
        axis=1).astype(np.float64)
    ref = ref_dets[:, :ours.shape[1]].astype(np.float64)
    assert np.abs(np.sort(ours[:, 4]) - np.sort(ref[:, 4])).max() \
        <= score_atol
    dist = np.abs(ours[:, None, :4] - ref[None, :, :4]).max(-1)
    match = dist.argmin(1)
    assert len(set(match.tolist())) == len(ours)  # one-to-one
    err = np.abs(ours - ref[match])
    assert err[:, :4].max() <= px_atol and err[:, 5:].max(initial=0) \
        <= px_atol
    assert err[:, 4].max() <= score_atol
