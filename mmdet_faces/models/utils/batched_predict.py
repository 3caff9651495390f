"""Batched test-time decoding for dense heads: all images' candidates at
once, each image's NMS inside one grouped call.

mmdet's dense heads decode, filter and run NMS image by image: a few dozen
small kernel launches per image on an accelerator. The helpers here do the
same work for a whole batch in a fixed number of calls and give each image
exactly the detections of the per-image path
(:mod:`.face_post_process`'s ``filter_by_score`` and ``ranked_nms``: mmdet's
``filter_scores_and_topk`` and mmcv's ``batched_nms`` with the same config,
equal scores taken by candidate index): the same candidates, the same float
arithmetic of the decoding and of the NMS (+1 area convention included),
the same order -- also where scores tie (both paths hand the NMS the
candidates' rank, never leaving the order of equal scores to a kernel's
unstable sort).

A head uses them as :class:`~mmdet_faces.models.dense_heads.RetinaFaceHead`
does: :func:`use_batched_predict` decides, :func:`select_candidates` picks
each image's top-scoring (anchor, class) pairs (``filter_by_score`` of
every image), the head decodes them in one call and
:func:`batched_rescale_and_nms` (``rescale_and_nms`` of every image: the
letterbox border and scale factor, :func:`multi_image_nms`,
``max_per_img``) returns one ``InstanceData`` per image.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcv_patches.torch_ops import grouped_nms
from .face_post_process import rank_key

__all__ = [
    'use_batched_predict', 'select_candidates', 'multi_image_nms',
    'split_by_image', 'image_scale_factors', 'limit_per_image',
    'rescale_to_images', 'batched_rescale_and_nms'
]


def use_batched_predict(cfg: Dict,
                        num_imgs: int,
                        device: torch.device,
                        with_nms: bool = True) -> bool:
    """Whether to take the batched path.

    ``cfg.batched_predict``: ``'auto'`` (default) for batches of more than
    one image on an accelerator (on CPU the per-image path costs no kernel
    launches); ``True`` / ``False`` always / never. Only plain ``nms``
    configs (not soft-NMS) are batched.
    """
    mode = cfg.get('batched_predict', 'auto')
    if mode is False or num_imgs < 1:
        return False
    if with_nms:
        nms = cfg.get('nms') or {}
        if nms.get('type', 'nms') != 'nms':
            return False
    if mode == 'auto':
        return num_imgs > 1 and torch.device(device).type != 'cpu'
    if mode is True:
        return True
    raise ValueError("test_cfg.batched_predict must be 'auto', True or "
                     f'False, got {mode!r}')


def _rank_in_image(img_inds: Tensor, num_imgs: int) -> Tensor:
    """Position of each entry within its image (entries sorted by
    image)."""
    counts = torch.bincount(img_inds, minlength=num_imgs)
    starts = counts.cumsum(0) - counts
    return torch.arange(img_inds.numel(), device=img_inds.device) - \
        starts[img_inds]


def limit_per_image(img_inds: Tensor, num_imgs: int, limit: int) -> Tensor:
    """Mask of the first ``limit`` entries of each image (entries sorted by
    image; ``limit`` <= 0 or None: all)."""
    if limit is None or limit <= 0:
        return torch.ones_like(img_inds, dtype=torch.bool)
    return _rank_in_image(img_inds, num_imgs) < limit


def _sort_by_image_then_score(img_inds: Tensor, scores: Tensor) -> Tensor:
    """Order of entries by image, then descending score, then index."""
    order = scores.sort(dim=0, descending=True, stable=True)[1]
    return order[img_inds[order].sort(dim=0, stable=True)[1]]


def select_candidates(scores: Tensor, score_thr: float,
                      nms_pre: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Each image's (anchor, class) pairs scoring above ``score_thr``, at
    most ``nms_pre`` of them (the highest), as mmdet's
    ``filter_scores_and_topk`` selects per image.

    Args:
        scores (Tensor): (B, A, C) class scores.
        score_thr (float): Keep scores > this.
        nms_pre (int): Most candidates per image (<= 0: all).

    Returns:
        tuple[Tensor]: ``img_inds``, ``anchor_inds``, ``labels``,
        ``scores`` (K, ), by image, then descending score (equal scores by
        anchor, then class).
    """
    num_imgs, _, num_classes = scores.shape
    img, flat = (scores.reshape(num_imgs, -1)
                 > score_thr).nonzero(as_tuple=True)
    sel = scores.reshape(num_imgs, -1)[img, flat]
    order = _sort_by_image_then_score(img, sel)
    img, flat, sel = img[order], flat[order], sel[order]
    keep = limit_per_image(img, num_imgs, nms_pre)
    img, flat, sel = img[keep], flat[keep], sel[keep]
    return img, flat // num_classes, flat % num_classes, sel


def multi_image_nms(bboxes: Tensor,
                    scores: Tensor,
                    labels: Tensor,
                    img_inds: Tensor,
                    num_imgs: int,
                    nms_cfg: Dict,
                    max_per_img: int = -1) -> Tensor:
    """What mmcv's ``batched_nms(bboxes_i, scores_i, labels_i, nms_cfg)``
    keeps for every image ``i``, for all images in one grouped NMS.

    The per-image semantics are mmcv's: class-aware NMS on boxes shifted by
    ``label * (max coordinate of the image + 1)`` (the same float
    arithmetic), or per class when the image has ``split_thr`` boxes or
    more; ``class_agnostic``, ``score_threshold``, ``max_num`` and
    ``offset`` as there.

    Args:
        bboxes (Tensor): (K, 4) candidates of all images.
        scores (Tensor): (K, ).
        labels (Tensor): (K, ) class indices.
        img_inds (Tensor): (K, ) image of each candidate.
        num_imgs (int): Images in the batch.
        nms_cfg (dict): mmcv ``batched_nms`` config (``type='nms'``).
        max_per_img (int): Detections kept per image after NMS (<= 0: all).

    Returns:
        Tensor: Indices of the kept candidates, by image, in each image's
        ``ranked_nms`` order (descending score, equal scores by index).
    """
    cfg = dict(nms_cfg)
    class_agnostic = cfg.pop('class_agnostic', False)
    if cfg.pop('type', 'nms') != 'nms':
        raise ValueError(f'only type=nms is batched, got {nms_cfg}')
    iou_threshold = cfg.pop('iou_threshold')
    offset = int(cfg.pop('offset', 0))
    split_thr = cfg.pop('split_thr', 10000)
    score_threshold = cfg.pop('score_threshold', 0)
    max_num = cfg.pop('max_num', -1)
    if cfg:
        raise ValueError(f'unsupported nms options {sorted(cfg)}')
    idx = torch.arange(scores.numel(), device=scores.device)
    if idx.numel() == 0:
        return idx
    if class_agnostic:
        boxes_for_nms, groups = bboxes, img_inds
    else:
        img_max = bboxes.new_full((num_imgs, ), float('-inf'))
        img_max = img_max.scatter_reduce(0, img_inds,
                                         bboxes.max(dim=1).values, 'amax')
        offsets = labels.to(bboxes) * (img_max[img_inds] + 1)
        boxes_for_nms = bboxes + offsets[:, None]
        # per image below split_thr boxes, per (image, class) above
        per_class = torch.bincount(
            img_inds, minlength=num_imgs)[img_inds] >= split_thr
        num_labels = int(labels.max()) + 1
        groups = img_inds * num_labels + torch.where(per_class, labels,
                                                     torch.zeros_like(labels))
    # each image's candidates by descending score, equal scores by index
    key = rank_key(_sort_by_image_then_score(img_inds, scores), bboxes)
    if score_threshold > 0:
        idx = idx[scores > score_threshold]
    keep = idx[grouped_nms(boxes_for_nms[idx], key[idx], groups[idx],
                           iou_threshold, offset)]
    keep = keep[key[keep].sort(descending=True)[1]]
    limit = [v for v in (max_num, max_per_img) if v is not None and v > 0]
    if limit:
        keep = keep[limit_per_image(img_inds[keep], num_imgs, min(limit))]
    return keep


def split_by_image(img_inds: Tensor, num_imgs: int,
                   **fields: Tensor) -> List[InstanceData]:
    """Cut per-detection ``fields`` (sorted by image) into one
    ``InstanceData`` per image (one device-to-host copy for the counts)."""
    counts = torch.bincount(img_inds, minlength=num_imgs).tolist()
    parts = {k: v.split(counts) for k, v in fields.items()}
    return [
        InstanceData(**{
            k: v[i]
            for k, v in parts.items()
        }) for i in range(num_imgs)
    ]


def image_scale_factors(batch_img_metas: Sequence[dict],
                        ref: Tensor,
                        inverse: bool = False) -> Tensor:
    """(B, 4) ``[sx, sy, sx, sy]`` of each image's ``scale_factor`` as a
    tensor like ``ref`` (``inverse``: ``1 / s`` computed in Python, as
    mmdet's ``scale_boxes`` takes them)."""
    rows = []
    for meta in batch_img_metas:
        assert meta.get('scale_factor') is not None
        sx, sy = meta['scale_factor'][:2]
        if inverse:
            sx, sy = 1 / sx, 1 / sy
        rows.append([sx, sy, sx, sy])
    return ref.new_tensor(rows)


def rescale_to_images(
        bboxes: Tensor, keypoints: Optional[Tensor], img_inds: Tensor,
        batch_img_metas: Sequence[dict]) -> Tuple[Tensor, Optional[Tensor]]:
    """``rescale_to_image`` of every image at once: boxes (N, 4) and
    keypoints (N, K, 2) of the images ``img_inds`` minus their letterbox
    ``border`` (left, top), divided by their ``scale_factor`` -- the same
    float operations."""
    borders = []
    for meta in batch_img_metas:
        border = meta.get('border')
        top, left = (0., 0.) if border is None else (border[0], border[2])
        top, left = float(top), float(left)
        borders.append([left, top, left, top])
    border = bboxes.new_tensor(borders)[img_inds]
    scale = image_scale_factors(batch_img_metas, bboxes)[img_inds]
    bboxes = (bboxes - border) / scale
    if keypoints is not None:
        keypoints = (keypoints - border[:, None, :2]) / scale[:, None, :2]
    return bboxes, keypoints


def batched_rescale_and_nms(results: InstanceData, img_inds: Tensor,
                            batch_img_metas: Sequence[dict], cfg: Dict,
                            rescale: bool,
                            with_nms: bool) -> List[InstanceData]:
    """``rescale_and_nms`` of every image: candidates of all images (sorted
    by image, then descending score) in, one ``InstanceData`` per image
    out.

    Args:
        results (InstanceData): ``bboxes`` (N, 4), ``scores``, ``labels``,
            optional ``keypoints`` (N, K, 2) of all images.
        img_inds (Tensor): (N, ) image of each candidate.
        batch_img_metas (list[dict]): The images' metas.
        cfg (dict): Test config (``nms``, ``max_per_img``).
        rescale (bool): To original image coordinates.
        with_nms (bool): Apply the NMS.

    Returns:
        list[InstanceData]: Each image's detections.
    """
    num_imgs = len(batch_img_metas)
    if rescale:
        bboxes, keypoints = rescale_to_images(results.bboxes,
                                              results.get('keypoints'),
                                              img_inds, batch_img_metas)
        results.bboxes = bboxes
        if keypoints is not None:
            results.keypoints = keypoints
    max_per_img = cfg.get('max_per_img', -1)
    if with_nms:
        keep = multi_image_nms(results.bboxes, results.scores, results.labels,
                               img_inds, num_imgs, cfg['nms'], max_per_img)
    else:
        keep = limit_per_image(img_inds, num_imgs, max_per_img)
        keep = keep.nonzero()[:, 0]
    results = results[keep]
    return split_by_image(img_inds[keep], num_imgs, **dict(results.items()))
