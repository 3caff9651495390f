"""Test-time steps the face heads share: score filter, rescale, NMS."""
from typing import Tuple

from mmcv.ops import batched_nms
from mmdet.models.utils import filter_scores_and_topk
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

__all__ = ['filter_by_score', 'rescale_and_nms']


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


def rescale_and_nms(results: InstanceData, img_meta: dict, cfg: ConfigDict,
                    rescale: bool, with_nms: bool) -> InstanceData:
    """Divide ``bboxes`` (and ``keypoints``) by the image's
    ``scale_factor`` when ``rescale``, then NMS (``cfg.nms``, mmcv
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
        assert img_meta.get('scale_factor') is not None
        sx, sy = img_meta['scale_factor'][:2]
        bboxes = results.bboxes
        results.bboxes = bboxes / bboxes.new_tensor([sx, sy, sx, sy])
        if 'keypoints' in results:
            results.keypoints = results.keypoints / bboxes.new_tensor(
                [sx, sy])
    if with_nms and results.bboxes.numel() > 0:
        _, keep = batched_nms(results.bboxes, results.scores, results.labels,
                              cfg.nms)
        results = results[keep]
    max_per_img = cfg.get('max_per_img', -1)
    if max_per_img is not None and max_per_img > 0:
        results = results[:max_per_img]
    return results
