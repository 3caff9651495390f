"""S3FDAssigner: S3FD anchor matching with scale compensation."""
from typing import NamedTuple, Optional

import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

__all__ = ['S3FDAssigner', 'S3FDBatchAssignResult']

# values of ``S3FDBatchAssignResult.stages``
STAGE_NEG, STAGE_IOU, STAGE_BEST, STAGE_COMP = 0, 1, 2, 3


class S3FDBatchAssignResult(NamedTuple):
    """Batched assignment.

    Attributes:
        gt_inds (Tensor): (B, A) long; 0 = background, ``k + 1`` = the anchor
            is a face matched to gt ``k`` of its image.
        matched_gt_inds (Tensor): (B, A) long; the gt each anchor regresses
            to (its best-IoU gt, or the gt it is the best anchor of), valid
            where ``gt_inds > 0``.
        max_overlaps (Tensor): (B, A) best IoU of each anchor with a gt
            (-1 without gts), before the best-anchor override.
        stages (Tensor): (B, A) uint8; 0 background, 1 IoU >= threshold,
            2 best anchor of a gt (forced), 3 added by scale compensation.
        num_comp (Tensor): (B, ) long; the compensation budget ``N`` of each
            image, before capping by the number of candidates.
    """
    gt_inds: Tensor
    matched_gt_inds: Tensor
    max_overlaps: Tensor
    stages: Tensor
    num_comp: Tensor


@TASK_UTILS.register_module()
class S3FDAssigner(BaseAssigner):
    """The S3FD matching (``match`` of S3FD.pytorch ``layers/bbox_utils.py``).

    Per image, with IoU between every gt face and every anchor:

    1. threshold stage: an anchor is a face if its best IoU with any gt is
       ``>= pos_iou_thr`` (0.35), matched to that best gt;
    2. best-anchor stage: every gt takes its best anchor whatever the IoU
       (when several gts share a best anchor the last gt wins, as in the
       reference loop);
    3. compensation stage: ``N = (#gts whose best IoU >= pos_iou_thr +
       #gts whose best IoU >= comp_iou_thr) // 2``; of the anchors whose best
       IoU lies in ``(min_comp_iou, pos_iou_thr)`` (and that are not a gt's
       best anchor), the ``N`` with the highest IoU become faces too, each
       regressing to its best-IoU gt.

    Vectorised over the batch (gts padded to the largest count); memory is
    ``B * G * A`` floats per chunk, chunks bounded by ``max_elems``.

    Args:
        pos_iou_thr (float): Threshold stage IoU. Default 0.35.
        min_comp_iou (float): Lower (exclusive) IoU bound for compensation
            candidates. Default 0.1.
        comp_iou_thr (float): Second threshold counted in ``N``. Default 0.5.
        max_elems (int): Upper bound of ``B * G * A`` per chunk.
    """

    def __init__(self,
                 pos_iou_thr: float = 0.35,
                 min_comp_iou: float = 0.1,
                 comp_iou_thr: float = 0.5,
                 max_elems: int = 1 << 23) -> None:
        self.pos_iou_thr = pos_iou_thr
        self.min_comp_iou = min_comp_iou
        self.comp_iou_thr = comp_iou_thr
        self.max_elems = max_elems

    # ------------------------------------------------------------------ API
    def assign(self,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None,
               **kwargs) -> AssignResult:
        """mmdet interface for one image.

        Args:
            pred_instances (InstanceData): ``priors`` (A, 4) x1y1x2y2.
            gt_instances (InstanceData): ``bboxes`` (G, 4), ``labels`` (G, ).
            gt_instances_ignore (InstanceData, optional): unused (the
                reference has no ignored faces).

        Returns:
            AssignResult: ``gt_inds`` 0 = negative, k + 1 = gt k (no anchor
            is left unassigned), ``max_overlaps``, ``labels``.
        """
        priors = pred_instances.priors
        gt_bboxes = gt_instances.bboxes
        if hasattr(gt_bboxes, 'tensor'):
            gt_bboxes = gt_bboxes.tensor
        gt_bboxes = gt_bboxes.to(priors)
        res = self.batch_assign(
            priors, gt_bboxes[None],
            gt_bboxes.new_ones((1, gt_bboxes.size(0)), dtype=torch.bool))
        gt_inds = res.gt_inds[0]
        labels = gt_inds.new_full((gt_inds.numel(), ), -1)
        pos = gt_inds > 0
        if pos.any():
            labels[pos] = gt_instances.labels[gt_inds[pos] - 1].long()
        return AssignResult(
            num_gts=gt_bboxes.size(0),
            gt_inds=gt_inds,
            max_overlaps=res.max_overlaps[0],
            labels=labels)

    def batch_assign(self, priors: Tensor, gt_bboxes: Tensor,
                     gt_valid: Tensor) -> S3FDBatchAssignResult:
        """Match a batch of images sharing the same anchors.

        Args:
            priors (Tensor): (A, 4) anchors x1y1x2y2.
            gt_bboxes (Tensor): (B, G, 4) gt boxes, padded.
            gt_valid (Tensor): (B, G) bool, False for padding.

        Returns:
            S3FDBatchAssignResult
        """
        num_imgs, num_gts = gt_valid.shape
        num_priors = priors.size(0)
        if num_gts == 0:
            zeros = priors.new_zeros((num_imgs, num_priors), dtype=torch.long)
            return S3FDBatchAssignResult(
                gt_inds=zeros,
                matched_gt_inds=zeros.clone(),
                max_overlaps=priors.new_full((num_imgs, num_priors), -1.),
                stages=zeros.to(torch.uint8),
                num_comp=zeros.new_zeros(num_imgs))
        chunk = max(1, self.max_elems // max(1, num_gts * num_priors))
        parts = [
            self._assign_chunk(priors, gt_bboxes[i:i + chunk],
                               gt_valid[i:i + chunk])
            for i in range(0, num_imgs, chunk)
        ]
        if len(parts) == 1:
            return parts[0]
        return S3FDBatchAssignResult(
            *[torch.cat(items, 0) for items in zip(*parts)])

    # ------------------------------------------------------------ internals
    @torch.no_grad()
    def _assign_chunk(self, priors: Tensor, gt_bboxes: Tensor,
                      gt_valid: Tensor) -> S3FDBatchAssignResult:
        num_imgs, num_gts = gt_valid.shape
        num_priors = priors.size(0)
        device = priors.device

        # (B, G, A); padded gts get -1 so they are never anyone's best
        overlaps = bbox_overlaps(gt_bboxes,
                                 priors[None].expand(num_imgs, -1, -1))
        overlaps = overlaps.masked_fill(~gt_valid[..., None], -1.)

        best_prior_overlap, best_prior_idx = overlaps.max(dim=2)  # (B, G)
        max_overlaps, best_truth_idx = overlaps.max(dim=1)  # (B, A)
        best_truth_overlap = max_overlaps.clone()

        # best-anchor stage: the reference loops ``for j: idx[best[j]] = j``
        # so the last gt wins a shared anchor -> scatter with amax
        gt_ids = torch.arange(num_gts, device=device).expand(num_imgs, -1)
        gt_ids = torch.where(gt_valid, gt_ids, torch.full_like(gt_ids, -1))
        forced = torch.full((num_imgs, num_priors),
                            -1,
                            dtype=torch.long,
                            device=device)
        forced.scatter_reduce_(1, best_prior_idx, gt_ids, reduce='amax')
        is_forced = forced >= 0
        best_truth_idx = torch.where(is_forced, forced, best_truth_idx)
        best_truth_overlap = best_truth_overlap.masked_fill(is_forced, 2.)

        # threshold stage
        pos = best_truth_overlap >= self.pos_iou_thr
        stages = torch.zeros((num_imgs, num_priors),
                             dtype=torch.uint8,
                             device=device)
        stages[pos] = STAGE_IOU
        stages[is_forced] = STAGE_BEST

        # compensation stage
        valid_best = best_prior_overlap.masked_fill(~gt_valid, -1.)
        num_comp = ((valid_best >= self.pos_iou_thr).sum(1) +
                    (valid_best >= self.comp_iou_thr).sum(1)) // 2  # (B, )
        cand = (best_truth_overlap > self.min_comp_iou) & (
            best_truth_overlap < self.pos_iou_thr)
        cand_overlap = torch.where(cand, best_truth_overlap,
                                   torch.zeros_like(best_truth_overlap))
        sorted_overlap, order = cand_overlap.sort(
            dim=1, descending=True, stable=True)
        rank = torch.arange(num_priors, device=device)[None]
        take_sorted = (rank < num_comp[:, None]) & (
            sorted_overlap > self.min_comp_iou)
        comp = torch.zeros_like(pos).scatter_(1, order, take_sorted)
        stages[comp] = STAGE_COMP
        pos = pos | comp

        gt_inds = torch.where(pos, best_truth_idx + 1,
                              torch.zeros_like(best_truth_idx))
        return S3FDBatchAssignResult(
            gt_inds=gt_inds,
            matched_gt_inds=best_truth_idx,
            max_overlaps=max_overlaps,
            stages=stages,
            num_comp=num_comp)
