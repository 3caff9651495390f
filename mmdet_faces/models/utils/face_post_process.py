"""Test-time steps the face heads share: score filter, rescale, NMS."""
from typing import Optional, Tuple

from mmcv.ops import batched_nms
from mmdet.models.utils import filter_scores_and_topk
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

__all__ = ['filter_by_score', 'rescale_to_image', 'rescale_and_nms']


def filter_by_score(scores: Tensor, cfg: ConfigDict,
                    default_thr: float = 0.02) -> Tuple[Tensor, Tensor,
                                                        Tensor]:
    """Scores above ``cfg.score_thr``, the ``cfg.nms_pre`` best (<= 0 or
    None: all, where mmdet's ``filter_scores_and_topk`` would drop one).

    Args:
        scores (Tensor): (N, C) scores of one image.
        cfg (ConfigDict): Test config.
        default_thr (float): Threshold without ``score_thr``.

    Returns:
        tuple[Tensor]: kept ``scores``, their ``labels`` and the indices of
        their rows in ``scores``, by decreasing score.
    """
    nms_pre = cfg.get('nms_pre', -1)
    if nms_pre is None or nms_pre <= 0:
        nms_pre = scores.numel()
    scores, labels, keep, _ = filter_scores_and_topk(
        scores, cfg.get('score_thr', default_thr), nms_pre)
    return scores, labels, keep


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
    :func:`rescale_to_image` when ``rescale``, then NMS (``cfg.nms``, mmcv
    ``batched_nms``) and the ``cfg.max_per_img`` best (<= 0 or None: all).

    Args:
        results (InstanceData): ``bboxes`` (N, 4) tensor, ``scores``,
            ``labels``, optional ``keypoints`` (N, K, 2) of one image.
        img_meta (dict): Its meta (``scale_factor`` (w, h) for rescale).
        cfg (ConfigDict): Test config.
        rescale (bool): To original image coordinates.
        with_nms (bool): Apply the NMS.

    Returns:
        InstanceData: The kept detections, by decreasing score after NMS.
    """
    if rescale:
        bboxes, keypoints = rescale_to_image(
            results.bboxes, results.get('keypoints'), img_meta)
        results.bboxes = bboxes
        if keypoints is not None:
            results.keypoints = keypoints
    if with_nms and results.bboxes.numel() > 0:
        _, keep = batched_nms(results.bboxes, results.scores, results.labels,
                              cfg.nms)
        results = results[keep]
    max_per_img = cfg.get('max_per_img', -1)
    if max_per_img is not None and max_per_img > 0:
        results = results[:max_per_img]
    return results
