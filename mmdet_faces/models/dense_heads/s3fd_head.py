"""S3FDHead: one square anchor per location, max-out background label."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.utils import (ConfigType, InstanceList, OptConfigType,
                         OptInstanceList, OptMultiConfig)
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils import (image_scale_factors, multi_image_nms, nms_and_limit,
                     select_candidates, split_by_image, use_batched_predict)

__all__ = ['S3FDHead']


@MODELS.register_module()
class S3FDHead(BaseDenseHead):
    """The S3FD detection head (Zhang et al., ICCV 2017).

    One 3x3 conv for scores (``cls_convs``) and one for box deltas
    (``reg_convs``) on each of the six sources; one square anchor per
    location (16..512 at strides 4..128, centred at ``(j + 0.5) * stride``),
    feature-map sizes taken from the actual sources as the reference does.
    Level 0 uses the max-out background label: its conv gives
    ``maxout_bg_channels`` background scores and ``num_classes`` face scores;
    the background logit is their max. Score channels follow the reference
    order: channel 0 background, channel ``1..`` faces (predicted ``labels``
    are mmdet's, 0 = face).

    Training: the ``S3FDAssigner`` matching (``train_cfg.assigner``), box
    deltas with variance (0.1, 0.2) (``DeltaXYWHBBoxCoder``, stds
    0.1, 0.1, 0.2, 0.2), smooth-L1 box loss over positives, softmax CE over
    positives and hard negatives (``neg_pos_ratio`` 3 per image), both summed
    and divided by the number of positives in the batch (or the number of
    images when there is none) -- the reference ``MultiBoxLoss``. One
    deliberate difference: an image without faces mines
    ``train_cfg.min_num_neg`` hard negatives (reference: none, so face-free
    images teach nothing); images with a face are unaffected while
    ``min_num_neg <= neg_pos_ratio``.

    Test (``test_cfg``): softmax face score > ``score_thr`` (0.05), top
    ``nms_pre`` (5000), NMS ``iou_threshold`` 0.3, ``max_per_img`` 750.

    Args:
        num_classes (int): Foreground classes (1, faces).
        in_channels (Sequence[int]): Channels of the six sources.
        maxout_bg_channels (int): Background scores max-reduced on level 0
            (3; 1 disables max-out).
        anchor_generator (dict): mmdet ``AnchorGenerator`` config.
        bbox_coder (dict): Box coder config.
        loss_cls (dict): Classification loss (softmax CE, reduction sum /
            avg_factor).
        loss_bbox (dict): Box loss (smooth-L1, beta 1).
        decode_wh_ratio_clip (float): Passed to the coder's decode; the
            reference does not clamp, the default only guards against
            overflow.
        train_cfg (dict, optional): ``assigner``, ``neg_pos_ratio``,
            ``min_num_neg``.
        test_cfg (dict, optional): ``score_thr``, ``nms_pre``, ``nms``,
            ``max_per_img``.
        init_cfg (dict | list[dict], optional): Xavier-uniform, zero bias
            (the reference init).
    """

    def __init__(
        self,
        num_classes: int = 1,
        in_channels: Sequence[int] = (256, 512, 512, 1024, 512, 256),
        maxout_bg_channels: int = 3,
        anchor_generator: ConfigType = dict(
            type='AnchorGenerator',
            strides=[4, 8, 16, 32, 64, 128],
            ratios=[1.0],
            scales=[1.0],
            base_sizes=[16, 32, 64, 128, 256, 512],
            centers=[(2., 2.), (4., 4.), (8., 8.), (16., 16.), (32., 32.),
                     (64., 64.)]),
        bbox_coder: ConfigType = dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=[0.1, 0.1, 0.2, 0.2],
            clip_border=False),
        loss_cls: ConfigType = dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox: ConfigType = dict(
            type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
        decode_wh_ratio_clip: float = 1e-16,
        train_cfg: OptConfigType = None,
        test_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = dict(
            type='Xavier', layer='Conv2d', distribution='uniform', bias=0.)
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.in_channels = tuple(in_channels)
        self.maxout_bg_channels = maxout_bg_channels
        self.cls_out_channels = num_classes + 1
        self.decode_wh_ratio_clip = decode_wh_ratio_clip
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

        self.prior_generator = TASK_UTILS.build(anchor_generator)
        assert all(n == 1 for n in self.prior_generator.num_base_priors), \
            'S3FD uses one anchor per location'
        assert self.prior_generator.num_levels == len(self.in_channels)
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)

        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i, ch in enumerate(self.in_channels):
            out = (
                maxout_bg_channels +
                num_classes if i == 0 else self.cls_out_channels)
            self.cls_convs.append(nn.Conv2d(ch, out, 3, padding=1))
            self.reg_convs.append(nn.Conv2d(ch, 4, 3, padding=1))

        if train_cfg is not None:
            self.assigner = TASK_UTILS.build(
                train_cfg.get('assigner', dict(type='S3FDAssigner')))
            self.neg_pos_ratio = train_cfg.get('neg_pos_ratio', 3)
            self.min_num_neg = train_cfg.get('min_num_neg', 3)

    # -------------------------------------------------------------- forward
    def forward(self, x: Tuple[Tensor, ...]) -> Tuple[List[Tensor], ...]:
        """Args: x: the six sources. Returns: (cls_scores, bbox_preds), each
        a list of (N, C, H, W) per level; level-0 scores are already
        max-out reduced to ``num_classes + 1`` channels."""
        cls_scores, bbox_preds = [], []
        for i, feat in enumerate(x):
            cls = self.cls_convs[i](feat)
            if i == 0:
                cls = self.maxout(cls)
            cls_scores.append(cls)
            bbox_preds.append(self.reg_convs[i](feat))
        return cls_scores, bbox_preds

    def maxout(self, cls: Tensor) -> Tensor:
        """Max-out background label: (N, m + C, H, W) -> (N, 1 + C, H, W)."""
        m = self.maxout_bg_channels
        bg = cls[:, :m].max(dim=1, keepdim=True)[0]
        return torch.cat([bg, cls[:, m:]], dim=1)

    # ------------------------------------------------------------- helpers
    def get_anchors_flat(self, featmap_sizes: List[Tuple[int, int]],
                         device) -> Tensor:
        """All anchors (A, 4) x1y1x2y2 in the reference order (level, row,
        column)."""
        return torch.cat(
            self.prior_generator.grid_priors(featmap_sizes, device=device), 0)

    def _flatten(self, cls_scores: List[Tensor],
                 bbox_preds: List[Tensor]) -> Tuple[Tensor, Tensor]:
        num_imgs = cls_scores[0].size(0)
        cls = torch.cat([
            c.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.cls_out_channels)
            for c in cls_scores
        ], 1)
        reg = torch.cat([
            b.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4) for b in bbox_preds
        ], 1)
        return cls, reg

    def decode_all(self, cls_scores: List[Tensor],
                   bbox_preds: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        """Per-anchor face scores and decoded boxes.

        Returns:
            tuple: ``scores`` (N, A, num_classes) softmax face scores,
            ``bboxes`` (N, A, 4) x1y1x2y2 in input pixels, ``anchors``
            (A, 4).
        """
        featmap_sizes = [c.shape[-2:] for c in cls_scores]
        anchors = self.get_anchors_flat(featmap_sizes, cls_scores[0].device)
        cls, reg = self._flatten(cls_scores, bbox_preds)
        scores = cls.softmax(-1)[..., 1:]
        num_imgs = cls.size(0)
        bboxes = self.bbox_coder.decode(
            anchors[None].expand(num_imgs, -1, -1).reshape(-1, 4),
            reg.reshape(-1, 4),
            wh_ratio_clip=self.decode_wh_ratio_clip)
        bboxes = bboxes.reshape(num_imgs, -1, 4)
        return scores, bboxes, anchors

    @staticmethod
    def _pad_gts(batch_gt_instances: InstanceList,
                 device) -> Tuple[Tensor, Tensor]:
        """Pad gt boxes to (B, G, 4) with a validity mask (B, G); boxes
        without area are treated as absent."""
        boxes = []
        for gt in batch_gt_instances:
            b = gt.bboxes
            b = b.tensor if hasattr(b, 'tensor') else b
            boxes.append(b.to(device=device, dtype=torch.float32))
        num_gts = max([b.size(0) for b in boxes] + [0])
        padded = torch.zeros((len(boxes), num_gts, 4), device=device)
        valid = torch.zeros((len(boxes), num_gts),
                            dtype=torch.bool,
                            device=device)
        for i, b in enumerate(boxes):
            padded[i, :b.size(0)] = b
            valid[i, :b.size(0)] = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
        return padded, valid

    # ----------------------------------------------------------------- loss
    def loss_by_feat(
            self,
            cls_scores: List[Tensor],
            bbox_preds: List[Tensor],
            batch_gt_instances: InstanceList,
            batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """The reference ``MultiBoxLoss``, vectorised over the batch.

        Args:
            cls_scores (list[Tensor]): per level (N, 1 + C, H, W).
            bbox_preds (list[Tensor]): per level (N, 4, H, W).
            batch_gt_instances (list[InstanceData]): ``bboxes`` per image.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list[InstanceData], optional): unused
                (the reference drops ignored faces).

        Returns:
            dict: ``loss_cls``, ``loss_bbox``.
        """
        assert self.num_classes == 1, 'only the face class is supported'
        device = cls_scores[0].device
        featmap_sizes = [c.shape[-2:] for c in cls_scores]
        anchors = self.get_anchors_flat(featmap_sizes, device)
        cls, reg = self._flatten(cls_scores, bbox_preds)
        num_imgs, num_anchors = cls.shape[:2]

        gt_bboxes, gt_valid = self._pad_gts(batch_gt_instances, device)
        res = self.assigner.batch_assign(anchors, gt_bboxes, gt_valid)
        pos = res.gt_inds > 0  # (B, A)
        num_pos = pos.sum(1)
        total_pos = int(num_pos.sum())
        avg_factor = float(total_pos if total_pos > 0 else num_imgs)

        # box loss over positives
        if total_pos > 0:
            idx = res.matched_gt_inds[..., None].expand(-1, -1, 4)
            matched = gt_bboxes.gather(1, idx)[pos]
            pos_anchors = anchors[None].expand(num_imgs, -1, -1)[pos]
            targets = self.bbox_coder.encode(pos_anchors, matched)
            loss_bbox = self.loss_bbox(
                reg[pos], targets, avg_factor=avg_factor)
        else:
            loss_bbox = reg.sum() * 0.

        # hard negative mining on the per-anchor CE, positives excluded
        labels = pos.long()  # channel 1 = face, 0 = background
        with torch.no_grad():
            ce = F.cross_entropy(
                cls.detach().reshape(-1, self.cls_out_channels).float(),
                labels.reshape(-1),
                reduction='none').view(num_imgs, num_anchors)
            ce[pos] = 0.
            order = ce.sort(dim=1, descending=True, stable=True)[1]
            rank = order.argsort(dim=1)
            num_neg = (self.neg_pos_ratio * num_pos).clamp(
                min=self.min_num_neg, max=num_anchors - 1)
            neg = rank < num_neg[:, None]
        selected = pos | neg
        loss_cls = self.loss_cls(
            cls[selected], labels[selected], avg_factor=avg_factor)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)

    # -------------------------------------------------------------- predict
    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        score_factors: Optional[List[Tensor]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: OptConfigType = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Detections per image: ``bboxes`` (x1y1x2y2, original image
        coordinates when ``rescale``), ``scores``, ``labels`` (0 = face).

        Batches of several images on an accelerator take the batched path
        (``cfg.batched_predict``, see
        :func:`~mmdet_faces.models.utils.use_batched_predict`): the same
        detections in a fixed number of kernel launches."""
        cfg = self.test_cfg if cfg is None else cfg
        cfg = ConfigDict(cfg) if not isinstance(cfg, ConfigDict) else cfg
        scores, bboxes, _ = self.decode_all(cls_scores, bbox_preds)
        score_thr = cfg.get('score_thr', 0.05)
        nms_pre = cfg.get('nms_pre', -1)
        if with_nms and use_batched_predict(cfg, len(batch_img_metas),
                                            scores.device):
            return self._predict_batched(scores, bboxes, batch_img_metas, cfg,
                                         rescale)
        results_list = []
        for img_id, img_meta in enumerate(batch_img_metas):
            s = scores[img_id][:, 0]
            idx = (s > score_thr).nonzero()[:, 0]
            # by descending score, equal scores by anchor (stable sort)
            s, order = s[idx].sort(descending=True, stable=True)
            if 0 < nms_pre < s.numel():
                s, order = s[:nms_pre], order[:nms_pre]
            results = InstanceData()
            results.bboxes = bboxes[img_id][idx[order]]
            results.scores = s
            results.labels = s.new_zeros(s.shape, dtype=torch.long)
            # rescale and min_bbox_size as mmdet; NMS by rank (ties by
            # candidate, as the batched path)
            results = self._bbox_post_process(
                results,
                cfg,
                rescale=rescale,
                with_nms=False,
                img_meta=img_meta)
            if with_nms:
                results = nms_and_limit(results, cfg)
            results_list.append(results)
        return results_list

    def _predict_batched(self, scores: Tensor, bboxes: Tensor,
                         batch_img_metas: List[dict], cfg: ConfigDict,
                         rescale: bool) -> InstanceList:
        """The per-image selection, ``_bbox_post_process`` and NMS for all
        images at once (same detections)."""
        num_imgs = len(batch_img_metas)
        img, anc, labels, sc = select_candidates(scores[..., :1],
                                                 cfg.get('score_thr', 0.05),
                                                 cfg.get('nms_pre', -1))
        b = bboxes[img, anc]
        if rescale:
            b = b * image_scale_factors(batch_img_metas, b, inverse=True)[img]
        min_size = cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            ok = ((b[:, 2] - b[:, 0]) > min_size) & (
                (b[:, 3] - b[:, 1]) > min_size)
            img, labels, sc, b = img[ok], labels[ok], sc[ok], b[ok]
        keep = multi_image_nms(b, sc, labels, img, num_imgs, cfg.nms,
                               cfg.get('max_per_img', -1))
        return split_by_image(
            img[keep],
            num_imgs,
            bboxes=b[keep],
            scores=sc[keep],
            labels=labels[keep])
