"""S3FDTTAModel: merge flip / multi-scale S3FD results by box voting."""
from typing import List, Optional

import torch
from mmdet.models.test_time_augs import DetTTAModel
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox_flip
from mmengine.structures import InstanceData
from torch import Tensor

__all__ = ['S3FDTTAModel', 'bbox_vote']


def bbox_vote(bboxes: Tensor,
              scores: Tensor,
              iou_thr: float = 0.3,
              keep_single: bool = False,
              max_num: int = 750) -> Tensor:
    """Box voting of the S3FD test code (``bbox_vote`` in SFD / S3FD.pytorch
    ``wider_test.py``).

    Repeatedly take the best remaining box and every remaining box with
    IoU >= ``iou_thr`` (areas with the +1 pixel convention) and replace them
    by one box: their score-weighted mean, with their max score. The
    reference drops clusters of a single box (``keep_single=False``).

    Args:
        bboxes (Tensor): (N, 4) x1y1x2y2.
        scores (Tensor): (N, ) scores.
        iou_thr (float): Cluster IoU. Default 0.3.
        keep_single (bool): Keep one-box clusters. Default False.
        max_num (int): Keep the first ``max_num`` merged boxes (-1: all).

    Returns:
        Tensor: (M, 5) x1, y1, x2, y2, score, by descending score.
    """
    order = scores.argsort(descending=True, stable=True)
    dets = torch.cat([bboxes, scores[:, None]], dim=1)[order]
    out = []
    while dets.size(0) > 0:
        b = dets[:, :4]
        area = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
        xx1 = torch.maximum(b[0, 0], b[:, 0])
        yy1 = torch.maximum(b[0, 1], b[:, 1])
        xx2 = torch.minimum(b[0, 2], b[:, 2])
        yy2 = torch.minimum(b[0, 3], b[:, 3])
        w = (xx2 - xx1 + 1).clamp(min=0)
        h = (yy2 - yy1 + 1).clamp(min=0)
        inter = w * h
        iou = inter / (area[0] + area - inter)
        merge = iou >= iou_thr
        merge[0] = True
        accu = dets[merge]
        dets = dets[~merge]
        if accu.size(0) <= 1 and not keep_single:
            continue
        weights = accu[:, 4:5]
        box = (accu[:, :4] * weights).sum(0) / weights.sum()
        out.append(torch.cat([box, accu[:, 4].max()[None]]))
    if not out:
        return bboxes.new_zeros((0, 5))
    merged = torch.stack(out)
    return merged if max_num < 0 else merged[:max_num]


@MODELS.register_module()
class S3FDTTAModel(DetTTAModel):
    """Test-time augmentation with the published S3FD protocol.

    The views come from mmdet's ``TestTimeAug`` pipeline (the model predicts
    each with its own test_cfg and rescales to the original image). Here each
    view's boxes are flipped back, filtered by the rule of the reference's
    ``multi_scale_test`` according to the view's scale factor ``s``:

    * ``s < 1`` (shrunk, finds big faces): keep boxes whose longer side
      (+1) is > ``shrink_min_size`` (30);
    * ``s > 1`` (enlarged, finds small faces): keep boxes whose shorter side
      (+1) is < ``enlarge_max_size`` (100);
    * ``s == 1`` (and its flip): keep all;

    then all views are merged by :func:`bbox_vote` (IoU 0.3, top 750).

    Args:
        tta_cfg (dict): ``vote_iou_thr`` (0.3), ``max_per_img`` (750),
            ``keep_single`` (False, the reference), ``shrink_min_size``
            (30), ``enlarge_max_size`` (100), ``scale_tol`` (1e-3).
        **kwargs: ``module`` etc. for ``DetTTAModel``.
    """

    def __init__(self, tta_cfg: Optional[dict] = None, **kwargs) -> None:
        cfg = dict(
            vote_iou_thr=0.3,
            max_per_img=750,
            keep_single=False,
            shrink_min_size=30,
            enlarge_max_size=100,
            scale_tol=1e-3)
        cfg.update(tta_cfg or {})
        super().__init__(tta_cfg=cfg, **kwargs)

    def _view_filter(self, bboxes: Tensor, img_meta: dict) -> Tensor:
        """Boolean mask of the boxes a view contributes."""
        keep = bboxes.new_ones(bboxes.size(0), dtype=torch.bool)
        sf = img_meta.get('scale_factor', (1., 1.))
        s = float(sum(sf) / len(sf))
        w = bboxes[:, 2] - bboxes[:, 0] + 1
        h = bboxes[:, 3] - bboxes[:, 1] + 1
        tol = self.tta_cfg['scale_tol']
        if s < 1 - tol and self.tta_cfg['shrink_min_size'] is not None:
            keep = torch.maximum(w, h) > self.tta_cfg['shrink_min_size']
        elif s > 1 + tol and self.tta_cfg['enlarge_max_size'] is not None:
            keep = torch.minimum(w, h) < self.tta_cfg['enlarge_max_size']
        return keep

    def _merge_single_sample(
            self, data_samples: List[DetDataSample]) -> DetDataSample:
        """Merge the views of one image."""
        all_bboxes, all_scores = [], []
        for data_sample in data_samples:
            pred = data_sample.pred_instances
            bboxes = pred.bboxes
            bboxes = bboxes.tensor if hasattr(bboxes, 'tensor') else bboxes
            img_meta = data_sample.metainfo
            if img_meta.get('flip', False):
                bboxes = bbox_flip(
                    bboxes=bboxes,
                    img_shape=img_meta['ori_shape'],
                    direction=img_meta.get('flip_direction', 'horizontal'))
            keep = self._view_filter(bboxes, img_meta)
            all_bboxes.append(bboxes[keep])
            all_scores.append(pred.scores[keep])
        bboxes = torch.cat(all_bboxes, 0)
        scores = torch.cat(all_scores, 0)
        dets = bbox_vote(
            bboxes,
            scores,
            iou_thr=self.tta_cfg['vote_iou_thr'],
            keep_single=self.tta_cfg['keep_single'],
            max_num=self.tta_cfg['max_per_img'])
        results = InstanceData()
        results.bboxes = dets[:, :4]
        results.scores = dets[:, 4]
        results.labels = dets.new_zeros(dets.size(0), dtype=torch.long)
        det_results = data_samples[0]
        det_results.pred_instances = results
        return det_results
