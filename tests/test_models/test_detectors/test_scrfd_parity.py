"""A converted SCRFD checkpoint reproduces the reference network."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample

from tests.reference import scrfd_ref as ref
from tests.test_models.scrfd_utils import normalise, reference_and_converted

SIZES = [(96, 160), (150, 203)]


def _ties_by_box(scores: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """A permutation ordering each run of exactly equal ``scores`` by box:
    the reference takes equal scores in the order of an unstable sort, the
    heads by candidate index."""
    perm = np.arange(len(scores))
    start = 0
    for end in range(1, len(scores) + 1):
        if end == len(scores) or scores[end] != scores[start]:
            run = perm[start:end]
            perm[start:end] = run[np.lexsort(boxes[run].T[::-1])]
            start = end
    return perm


@pytest.mark.parametrize('arch', ['500m', '2.5g_kps'])
def test_converted_checkpoint_reproduces_reference(arch):
    net, model = reference_and_converted(arch, seed=3)
    head = model.bbox_head
    g = torch.Generator().manual_seed(7)
    for h, w in SIZES:
        img = torch.randint(
            0, 256, (1, 3, h, w), generator=g, dtype=torch.uint8)
        with torch.no_grad():
            expected = ref.decode(net(normalise(img)), (h, w))
            data = model.data_preprocessor(
                dict(
                    inputs=[img[0]],
                    data_samples=[
                        DetDataSample(metainfo=dict(img_shape=(h, w)))
                    ]), False)
            outs = head(model.extract_feat(data['inputs']))
            scores, dists, kps, centers, _ = head.flatten_preds(*outs)
            boxes = head.bbox_coder.decode(centers, dists[0], max_shape=(h, w))
        assert scores.shape == (1, expected['scores'].numel(), 1)
        # a spread of scores and boxes inside and across the border
        assert expected['scores'].std() > 0.05
        assert torch.allclose(
            scores[0, :, 0], expected['scores'], atol=1e-5, rtol=0)
        assert torch.allclose(boxes, expected['boxes'], atol=1e-3, rtol=0)
        if head.use_kps:
            kpts = centers[:, None] + kps[0]
            assert torch.allclose(
                kpts.reshape(-1, 10), expected['kps'], atol=1e-3, rtol=0)
        else:
            assert kps is None and len(outs) == 2


@pytest.mark.parametrize('arch', ['500m', '2.5g_kps'])
def test_predict_equals_reference_test_protocol(arch):
    """score > thr, NMS (IoU 0.45, no +1), everything kept; rescaled."""
    net, model = reference_and_converted(arch, seed=5)
    h, w = SIZES[1]
    g = torch.Generator().manual_seed(11)
    img = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
    with torch.no_grad():
        expected = ref.detect(
            net(normalise(img[None])), (h, w),
            score_thr=0.3,
            iou_thr=0.45,
            scale_factor=(1.25, 1.5))
        model.bbox_head.test_cfg.score_thr = 0.3
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(h, w),
                ori_shape=(int(h / 1.5), int(w / 1.25)),
                scale_factor=(1.25, 1.5)))
        res = model.test_step(dict(inputs=[img],
                                   data_samples=[sample]))[0].pred_instances
    assert 10 < len(res) == len(expected['scores'])
    assert np.allclose(res.scores.numpy(), expected['scores'], atol=1e-5)
    ours = _ties_by_box(res.scores.numpy(), res.bboxes.numpy())
    theirs = _ties_by_box(res.scores.numpy(), expected['boxes'])
    assert np.allclose(
        res.bboxes.numpy()[ours], expected['boxes'][theirs], atol=1e-3)
    if model.bbox_head.use_kps:
        assert np.allclose(
            res.keypoints.reshape(-1, 10).numpy()[ours],
            expected['kps'][theirs],
            atol=1e-3)
    else:
        assert 'keypoints' not in res
