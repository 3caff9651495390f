"""The RetinaFace (biubug6) anchor matching, vectorised over a batch."""
from typing import Optional, Tuple

import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

__all__ = ['RetinaFaceAssigner', 'reference_iou']


def reference_iou(boxes: Tensor, anchors: Tensor) -> Tensor:
    """IoU of every box with every anchor, computed with exactly the
    operations of the reference ``jaccard`` (no +1), so results are bitwise
    equal to it.

    Args:
        boxes (Tensor): (N, 4) x1y1x2y2.
        anchors (Tensor): (A, 4) x1y1x2y2.

    Returns:
        Tensor: (N, A).
    """
    b = boxes[:, None, :]
    a = anchors[None, :, :]
    w = (torch.min(b[..., 2], a[..., 2]) -
         torch.max(b[..., 0], a[..., 0])).clamp_(min=0)
    h = (torch.min(b[..., 3], a[..., 3]) -
         torch.max(b[..., 1], a[..., 1])).clamp_(min=0)
    inter = w * h
    area_b = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    area_a = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])
    union = area_b[:, None] + area_a[None, :] - inter
    return inter / union


@TASK_UTILS.register_module()
class RetinaFaceAssigner(BaseAssigner):
    """The reference ``utils/box_utils.py: match`` for a whole batch at once.

    Rules (per image): IoU of each face with every anchor; each anchor takes
    the face it overlaps most (ties: the first face); a face whose best
    anchor IoU is ``>= min_pos_iou`` (0.2) claims that anchor (its overlap
    is set to 2, so it is positive); a face below it is not force-matched;
    when several faces claim one anchor the later face wins (the reference
    loop); anchors whose final overlap is ``< pos_iou_thr`` (0.35) are
    background. There is no ignore band between the thresholds.

    Reference quirk, kept by default (``hard_gt_claims=True``): the reference
    loop re-points *every* face's best anchor to that face, including faces
    below ``min_pos_iou``; such an anchor is only positive when some other
    face overlaps it by ``>= pos_iou_thr`` (it then regresses to the hard
    face). ``hard_gt_claims=False`` leaves those anchors to their best face.

    Ignored faces (``gt_instances_ignore``) never become targets; anchors
    that are not positive and overlap an ignored face by ``>= ignore_iou_thr``
    are marked ignored (-1: neither positive nor negative). Not in the
    reference, which has no ignored faces.

    Memory: gts of all images are packed into one (T, 4) tensor with their
    image index, so one (T, A) IoU matrix is computed (no padding to the
    largest face count).

    Args:
        pos_iou_thr (float): Positive threshold. Defaults to 0.35.
        min_pos_iou (float): A face whose best anchor IoU is below this is
            not force-matched. Defaults to 0.2.
        ignore_iou_thr (float): IoU with an ignored face above which a
            non-positive anchor is ignored; negative disables. Defaults to
            0.35.
        hard_gt_claims (bool): Keep the reference quirk above. Defaults to
            True.
    """

    def __init__(self,
                 pos_iou_thr: float = 0.35,
                 min_pos_iou: float = 0.2,
                 ignore_iou_thr: float = 0.35,
                 hard_gt_claims: bool = True) -> None:
        self.pos_iou_thr = pos_iou_thr
        self.min_pos_iou = min_pos_iou
        self.ignore_iou_thr = ignore_iou_thr
        self.hard_gt_claims = hard_gt_claims

    @staticmethod
    def _segment_max(values: Tensor, img_inds: Tensor,
                     num_imgs: int) -> Tuple[Tensor, Tensor]:
        """Per (image, anchor) max over the rows of ``values`` (T, A) that
        belong to that image, and the first row reaching it (-1 if none)."""
        num_anchors = values.size(1)
        index = img_inds[:, None].expand_as(values)
        max_vals = values.new_full((num_imgs, num_anchors), -1.)
        max_vals.scatter_reduce_(0, index, values, reduce='amax')
        rows = torch.arange(
            values.size(0), device=values.device)[:, None].expand_as(values)
        big = values.size(0)
        cand = torch.where(values == max_vals[img_inds], rows,
                           torch.full_like(rows, big))
        arg = torch.full((num_imgs, num_anchors),
                         big,
                         dtype=torch.long,
                         device=values.device)
        arg.scatter_reduce_(0, index, cand, reduce='amin')
        arg[arg == big] = -1
        return max_vals, arg

    def assign_batch(
            self,
            anchors: Tensor,
            gt_bboxes: Tensor,
            gt_img_inds: Tensor,
            num_imgs: int,
            ignore_bboxes: Optional[Tensor] = None,
            ignore_img_inds: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Match the anchors of every image of a batch.

        Args:
            anchors (Tensor): (A, 4) x1y1x2y2, shared by all images.
            gt_bboxes (Tensor): (T, 4) faces of all images, packed.
            gt_img_inds (Tensor): (T,) image index of each face, in
                non-decreasing order (faces of an image keep their order).
            num_imgs (int): Batch size B.
            ignore_bboxes (Tensor, optional): (U, 4) ignored faces, packed.
            ignore_img_inds (Tensor, optional): (U,) their image indices.

        Returns:
            tuple[Tensor, Tensor]:
            - assigned (Tensor): (B, A) long; 0 background, -1 ignored,
              ``t + 1`` positive matched to packed face ``t``.
            - max_overlaps (Tensor): (B, A) the final overlaps (2 for
              force-matched anchors, -1 where the image has no face).
        """
        num_anchors = anchors.size(0)
        device = anchors.device
        assigned = torch.zeros((num_imgs, num_anchors),
                               dtype=torch.long,
                               device=device)
        max_overlaps = anchors.new_full((num_imgs, num_anchors), -1.)
        num_gts = gt_bboxes.size(0)
        if num_gts > 0:
            overlaps = reference_iou(gt_bboxes, anchors)  # (T, A)
            best_prior_overlap, best_prior_idx = overlaps.max(dim=1)
            max_overlaps, best_truth = self._segment_max(
                overlaps, gt_img_inds, num_imgs)
            flat_pos = gt_img_inds * num_anchors + best_prior_idx
            valid = best_prior_overlap >= self.min_pos_iou
            # ensure best prior: overlap 2 for faces above min_pos_iou
            max_overlaps.view(-1)[flat_pos[valid]] = 2.
            # every face claims its best anchor; the later face wins
            claim_mask = valid if not self.hard_gt_claims else torch.ones_like(
                valid)
            claims = torch.full((num_imgs * num_anchors, ),
                                -1,
                                dtype=torch.long,
                                device=device)
            claims.scatter_reduce_(
                0,
                flat_pos[claim_mask],
                torch.arange(num_gts, device=device)[claim_mask],
                reduce='amax')
            claims = claims.view(num_imgs, num_anchors)
            best_truth = torch.where(claims >= 0, claims, best_truth)
            pos = max_overlaps >= self.pos_iou_thr
            assigned = torch.where(pos, best_truth + 1, assigned)
        if (ignore_bboxes is not None and ignore_bboxes.numel() > 0
                and self.ignore_iou_thr >= 0):
            ign_overlaps = reference_iou(ignore_bboxes, anchors)
            ign_max = anchors.new_full((num_imgs, num_anchors), -1.)
            ign_max.scatter_reduce_(
                0,
                ignore_img_inds[:, None].expand_as(ign_overlaps),
                ign_overlaps,
                reduce='amax')
            ignore = (ign_max >= self.ignore_iou_thr) & (assigned == 0)
            assigned[ignore] = -1
        return assigned, max_overlaps

    def assign(self,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None,
               **kwargs) -> AssignResult:
        """Assign one image (mmdet assigner interface).

        Args:
            pred_instances (InstanceData): ``priors`` (A, 4).
            gt_instances (InstanceData): ``bboxes`` and ``labels``.
            gt_instances_ignore (InstanceData, optional): ``bboxes``.

        Returns:
            AssignResult: 1-based ``gt_inds`` (0 negative, -1 ignored).
        """
        anchors = get_box_tensor(pred_instances.priors)
        gt_bboxes = get_box_tensor(gt_instances.bboxes).to(anchors)
        num_gts = gt_bboxes.size(0)
        gt_img_inds = gt_bboxes.new_zeros((num_gts, ), dtype=torch.long)
        ign_bboxes = ign_inds = None
        if gt_instances_ignore is not None and 'bboxes' in gt_instances_ignore:
            ign_bboxes = get_box_tensor(gt_instances_ignore.bboxes).to(anchors)
            ign_inds = ign_bboxes.new_zeros((ign_bboxes.size(0), ),
                                            dtype=torch.long)
        assigned, max_overlaps = self.assign_batch(anchors, gt_bboxes,
                                                   gt_img_inds, 1, ign_bboxes,
                                                   ign_inds)
        gt_inds = assigned[0]
        labels = gt_inds.new_full((gt_inds.size(0), ), -1)
        pos = gt_inds > 0
        if num_gts > 0:
            labels[pos] = gt_instances.labels[gt_inds[pos] - 1].to(labels)
        return AssignResult(num_gts, gt_inds, max_overlaps[0], labels=labels)
