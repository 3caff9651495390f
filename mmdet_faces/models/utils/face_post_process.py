"""Test-time steps the face heads share: score filter, rescale, NMS.

Candidates are ordered by descending score, equal scores by index (a
stable sort), and the NMS takes them in that order: mmcv's NMS kernels
order boxes by an unstable sort of the scores, so equal scores (saturated
at 1.0, or fp16-rounded logits) would be taken in an order that depends on
the kernel, the device and the batch. :func:`ranked_nms` hands mmcv's
``batched_nms`` the candidates' rank instead of their scores (the kernels
use scores only to order the boxes) and the batched path
(:mod:`.batched_predict`) uses the same ranks, so both give the same
detections, ties included.
"""
from typing import Dict, Optional, Tuple

import torch
from mmcv.ops import batched_nms
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

__all__ = [
    'filter_by_score', 'rescale_to_image', 'rescale_and_nms', 'rank_key',
    'ranked_nms', 'nms_and_limit'
]


def rank_key(order: Tensor, ref: Tensor) -> Tensor:
    """Strictly decreasing NMS scores for the candidates taken in
    ``order``: ``n`` for ``order[0]`` down to 1 for the last.

    Args:
        order (Tensor): (N, ) a permutation of the candidates' indices.
        ref (Tensor): The boxes: float64 for float64 boxes (and above 2**24
            candidates, where float32 ranks are no longer exact), else
            float32.

    Returns:
        Tensor: (N, ) the key of each candidate, on ``order``'s device.
    """
    n = order.numel()
    dtype = torch.float64 if (ref.dtype == torch.float64
                              or n >= 2**24) else torch.float32
    key = torch.empty(n, dtype=dtype, device=order.device)
    key[order] = torch.arange(n, 0, -1, dtype=dtype, device=order.device)
    return key


def ranked_nms(bboxes: Tensor, scores: Tensor, labels: Tensor,
               nms_cfg: Dict) -> Tensor:
    """mmcv's ``batched_nms(bboxes, scores, labels, nms_cfg)`` with the
    candidates taken by descending score, equal scores by index.

    Args:
        bboxes (Tensor): (N, 4) boxes.
        scores (Tensor): (N, ) scores.
        labels (Tensor): (N, ) class indices.
        nms_cfg (dict): mmcv ``batched_nms`` config (its
            ``score_threshold`` applies to ``scores``).

    Returns:
        Tensor: Indices of the kept candidates, by descending score (equal
        scores by index).
    """
    cfg = dict(nms_cfg)
    key = rank_key(scores.sort(descending=True, stable=True)[1], bboxes)
    score_threshold = cfg.get('score_threshold', 0)
    if score_threshold > 0:  # the kernel filters `key > 0.5`: the same set
        key = torch.where(scores > score_threshold, key, key.new_zeros(()))
        cfg['score_threshold'] = 0.5
    return batched_nms(bboxes, key, labels, cfg)[1]


def filter_by_score(
        scores: Tensor,
        cfg: ConfigDict,
        default_thr: float = 0.02) -> Tuple[Tensor, Tensor, Tensor]:
    """Scores above ``cfg.score_thr``, the ``cfg.nms_pre`` best (<= 0 or
    None: all, where mmdet's ``filter_scores_and_topk`` would drop one).

    Args:
        scores (Tensor): (N, C) scores of one image.
        cfg (ConfigDict): Test config.
        default_thr (float): Threshold without ``score_thr``.

    Returns:
        tuple[Tensor]: kept ``scores``, their ``labels`` and the indices of
        their rows in ``scores``, by decreasing score (equal scores by
        row, then label: mmdet's ``filter_scores_and_topk`` with a stable
        sort).
    """
    nms_pre = cfg.get('nms_pre', -1)
    valid = scores > cfg.get('score_thr', default_thr)
    kept = scores[valid]
    kept, order = kept.sort(descending=True, stable=True)
    if nms_pre is not None and 0 < nms_pre < kept.numel():
        kept, order = kept[:nms_pre], order[:nms_pre]
    keep, labels = valid.nonzero()[order].unbind(dim=1)
    return kept, labels, keep


def rescale_to_image(bboxes: Tensor, keypoints: Optional[Tensor],
                     img_meta: dict) -> Tuple[Tensor, Optional[Tensor]]:
    """Map boxes (N, 4) and keypoints (N, K, 2) from the network input to
    the original image: subtract ``border[2]`` (x) and ``border[0]`` (y)
    where the test pipeline letterboxed (mmdet's ``RandomCenterCropPad``
    convention, set by ``LetterboxResize``), then divide by
    ``scale_factor`` (w, h).

    Args:
        bboxes (Tensor): (N, 4) boxes.
        keypoints (Tensor, optional): (N, K, 2) keypoints.
        img_meta (dict): The image's meta.

    Returns:
        tuple: the mapped ``bboxes`` and ``keypoints``.
    """
    border = img_meta.get('border')
    if border is not None:
        top, left = float(border[0]), float(border[2])
        bboxes = bboxes - bboxes.new_tensor([left, top, left, top])
        if keypoints is not None:
            keypoints = keypoints - keypoints.new_tensor([left, top])
    assert img_meta.get('scale_factor') is not None
    sx, sy = img_meta['scale_factor'][:2]
    bboxes = bboxes / bboxes.new_tensor([sx, sy, sx, sy])
    if keypoints is not None:
        keypoints = keypoints / keypoints.new_tensor([sx, sy])
    return bboxes, keypoints


def rescale_and_nms(results: InstanceData, img_meta: dict, cfg: ConfigDict,
                    rescale: bool, with_nms: bool) -> InstanceData:
    """Map ``bboxes`` (and ``keypoints``) to the original image with
    :func:`rescale_to_image` when ``rescale``, then NMS (``cfg.nms``,
    :func:`ranked_nms`) and the ``cfg.max_per_img`` best (<= 0 or None:
    all).

    Args:
        results (InstanceData): ``bboxes`` (N, 4) tensor, ``scores``,
            ``labels``, optional ``keypoints`` (N, K, 2) of one image.
        img_meta (dict): Its meta (``scale_factor`` (w, h) for rescale).
        cfg (ConfigDict): Test config.
        rescale (bool): To original image coordinates.
        with_nms (bool): Apply the NMS.

    Returns:
        InstanceData: The kept detections, by decreasing score after NMS
        (equal scores in candidate order).
    """
    if rescale:
        bboxes, keypoints = rescale_to_image(results.bboxes,
                                             results.get('keypoints'),
                                             img_meta)
        results.bboxes = bboxes
        if keypoints is not None:
            results.keypoints = keypoints
    return nms_and_limit(results, cfg, with_nms)


def nms_and_limit(results: InstanceData,
                  cfg: ConfigDict,
                  with_nms: bool = True) -> InstanceData:
    """NMS of one image's candidates (``cfg.nms``, :func:`ranked_nms`)
    when ``with_nms``, then the ``cfg.max_per_img`` best (<= 0 or None:
    all).

    Args:
        results (InstanceData): ``bboxes`` (N, 4), ``scores``, ``labels``
            (and any other per-candidate fields), by decreasing score.
        cfg (ConfigDict): Test config.
        with_nms (bool): Apply the NMS.

    Returns:
        InstanceData: The kept detections, by decreasing score (equal
        scores in candidate order).
    """
    if with_nms and results.bboxes.numel() > 0:
        results = results[ranked_nms(results.bboxes, results.scores,
                                     results.labels, cfg.nms)]
    max_per_img = cfg.get('max_per_img', -1)
    if max_per_img is not None and max_per_img > 0:
        results = results[:max_per_img]
    return results
