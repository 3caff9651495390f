"""SCRFD head: GFL-style quality focal loss head with 2 anchors per location,
distance box coding and an optional 5-point keypoint branch."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule, Scale
from mmdet.models.dense_heads.anchor_head import AnchorHead
from mmdet.models.dense_heads.gfl_head import GFLHead
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.models.utils import (images_to_levels, multi_apply, unmap,
                                unpack_gt_instances)
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
from mmdet.utils import (ConfigType, InstanceList, OptConfigType,
                         OptInstanceList, OptMultiConfig, reduce_mean)
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils import (batched_rescale_and_nms, filter_by_score, rescale_and_nms,
                     select_candidates, use_batched_predict)

__all__ = ['SCRFDHead']


@MODELS.register_module()
class SCRFDHead(GFLHead):
    """The head of SCRFD (insightface ``detection/scrfd``
    ``mmdet/models/dense_heads/scrfd_head.py``), on mmdet's GFL head.

    Per level: a tower of ``stacked_convs`` 3x3 :class:`ConvModule` (conv +
    GN/BN + ReLU; depthwise separable with ``dw_conv``), shared by all
    levels (``strides_share``) or one per level, then 3x3 convs for the
    classification-quality logit (``conv_cls``), the 4 distances
    (``conv_reg``, times a learnable :class:`Scale` per level when
    ``scale_mode`` asks for it) and, with ``use_kps``, ``2 * num_points``
    keypoint offsets (``conv_kps``), all from the tower's output
    (``cls_reg_share``; otherwise a second tower feeds box and keypoints).

    Coding: anchors of mmdet's :class:`AnchorGenerator` (2 per location,
    centres at ``(x * stride, y * stride)``); a box is
    ``centre -/+ distance * stride`` (``DistancePointBBoxCoder``, clipped to
    the image when its ``clip_border``), a keypoint
    ``centre + offset * stride``.

    Loss (as the reference): ATSS assignment, quality focal loss against the
    IoU of the decoded box (``loss_cls``, averaged over positives, at least
    one per image), box loss on positives weighted by their detached
    classification score and divided by the sum of those weights
    (``loss_bbox``), and a smooth-L1 keypoint loss on positives with the
    same normalisation, weighted by the score times the fraction of
    labelled points of the matched face (``loss_kps``).

    Args:
        num_classes (int): Classes (1: face).
        in_channels (int): Input channels of every level.
        feat_channels (int): Tower channels. Defaults to 64.
        stacked_convs (int | Sequence[int]): Tower depth, or one per level
            (with ``strides_share=False``). Defaults to 2.
        feat_mults (Sequence[float], optional): Per-level multipliers of
            ``feat_channels``. Defaults to None.
        conv_cfg (dict, optional): Conv config of the tower.
        norm_cfg (dict): Norm config of the tower. Defaults to GN(16).
        cls_reg_share (bool): One tower for all branches. Defaults to True.
        strides_share (bool): One tower and predictors for all levels.
            Defaults to True.
        scale_mode (int): 0: no box scale; 1: one :class:`Scale` per level
            when ``strides_share``; 2: one per level. Defaults to 2.
        dw_conv (bool): Depthwise separable tower convs. Defaults to False.
        use_kps (bool): Keypoint branch. Defaults to False.
        num_points (int): Keypoints per face. Defaults to 5.
        anchor_generator (dict): Anchor config (reference: ratio 1, scales
            1 and 2, base sizes 16/64/256 at strides 8/16/32).
        bbox_coder (dict): Box coder. Defaults to DistancePointBBoxCoder.
        loss_cls (dict): Defaults to QualityFocalLoss(beta=2).
        loss_bbox (dict): Defaults to DIoULoss(loss_weight=2).
        loss_kps (dict): Defaults to SmoothL1Loss(beta=1/9,
            loss_weight=0.1).
        train_cfg (dict, optional): ``assigner`` (ATSS), ``allowed_border``,
            ``pos_weight``.
        test_cfg (dict, optional): ``nms_pre`` (<= 0: all), ``score_thr``,
            ``nms`` (mmcv ``batched_nms`` config), ``max_per_img`` (<= 0:
            all).
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to the reference's: N(0, 0.01) convs, classification
            bias -4.595.
    """

    def __init__(
        self,
        num_classes: int = 1,
        in_channels: int = 16,
        feat_channels: int = 64,
        stacked_convs: Union[int, Sequence[int]] = 2,
        feat_mults: Optional[Sequence[float]] = None,
        conv_cfg: OptConfigType = None,
        norm_cfg: ConfigType = dict(
            type='GN', num_groups=16, requires_grad=True),
        cls_reg_share: bool = True,
        strides_share: bool = True,
        scale_mode: int = 2,
        dw_conv: bool = False,
        use_kps: bool = False,
        num_points: int = 5,
        anchor_generator: ConfigType = dict(
            type='AnchorGenerator',
            ratios=[1.0],
            scales=[1, 2],
            base_sizes=[16, 64, 256],
            strides=[8, 16, 32]),
        bbox_coder: ConfigType = dict(type='DistancePointBBoxCoder'),
        loss_cls: ConfigType = dict(
            type='QualityFocalLoss',
            use_sigmoid=True,
            beta=2.0,
            loss_weight=1.0),
        loss_bbox: ConfigType = dict(type='DIoULoss', loss_weight=2.0),
        loss_kps: ConfigType = dict(
            type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=0.1),
        train_cfg: OptConfigType = None,
        test_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = dict(
            type='Normal',
            layer='Conv2d',
            std=0.01,
            override=dict(
                type='Normal', name='conv_cls', std=0.01, bias=-4.595))
    ) -> None:
        # tower: depth, width multipliers, conv / norm, depthwise or not
        self.stacked_convs, self.feat_mults = stacked_convs, feat_mults
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        self.dw_conv = dw_conv
        # sharing between levels and between branches
        self.strides_share, self.cls_reg_share = strides_share, cls_reg_share
        self.scale_mode = scale_mode
        self.use_scale = scale_mode > 0 and (strides_share or scale_mode == 2)
        self.use_kps = use_kps
        self.num_points = num_points if use_kps else 0
        # GFLHead's own __init__ builds the DFL integral and loss, which
        # SCRFD does not use: initialise as its AnchorHead
        AnchorHead.__init__(
            self,
            num_classes,
            in_channels,
            feat_channels,
            anchor_generator,
            bbox_coder,
            loss_cls=loss_cls,
            loss_bbox=loss_bbox,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg)
        if use_kps:
            self.loss_kps = MODELS.build(loss_kps)

    def _tower(self, in_ch: int, out_ch: int, num: int) -> nn.Sequential:
        """``num`` 3x3 conv + norm + ReLU modules."""
        layers = []
        for i in range(num):
            chn = in_ch if i == 0 else out_ch
            if self.dw_conv:
                layers.append(
                    DepthwiseSeparableConvModule(
                        chn,
                        out_ch,
                        3,
                        padding=1,
                        dw_norm_cfg=self.norm_cfg,
                        pw_norm_cfg=self.norm_cfg))
            else:
                layers.append(
                    ConvModule(
                        chn,
                        out_ch,
                        3,
                        padding=1,
                        conv_cfg=self.conv_cfg,
                        norm_cfg=self.norm_cfg))
        return nn.Sequential(*layers)

    def _init_layers(self) -> None:
        """Towers and predictors, one group or one per level."""
        num_levels = self.prior_generator.num_levels
        num_groups = 1 if self.strides_share else num_levels
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        self.conv_cls = nn.ModuleList()
        self.conv_reg = nn.ModuleList()
        self.conv_kps = nn.ModuleList()
        num_anchors = self.num_base_priors
        for g in range(num_groups):
            num = self.stacked_convs[g] if isinstance(
                self.stacked_convs, (list, tuple)) else self.stacked_convs
            mult = self.feat_mults[g] if self.feat_mults is not None else 1
            feat_ch = int(self.feat_channels * mult) if num > 0 else \
                self.in_channels
            self.cls_convs.append(self._tower(self.in_channels, feat_ch, num))
            if not self.cls_reg_share:
                self.reg_convs.append(
                    self._tower(self.in_channels, feat_ch, num))
            self.conv_cls.append(
                nn.Conv2d(
                    feat_ch, self.cls_out_channels * num_anchors, 3,
                    padding=1))
            self.conv_reg.append(
                nn.Conv2d(feat_ch, 4 * num_anchors, 3, padding=1))
            if self.use_kps:
                self.conv_kps.append(
                    nn.Conv2d(
                        feat_ch,
                        2 * self.num_points * num_anchors,
                        3,
                        padding=1))
        self.scales = nn.ModuleList([
            Scale(1.0) for _ in range(num_levels)
        ]) if self.use_scale else [None] * num_levels

    def forward(self, x: Tuple[Tensor, ...]) -> Tuple[List[Tensor], ...]:
        """Per-level ``cls_scores`` (B, A*C, H, W) logits, ``bbox_preds``
        (B, A*4, H, W) distances in units of the stride and, with
        ``use_kps`` only, ``kps_preds`` (B, A*2K, H, W); channel ``a * k +
        j`` for anchor ``a``."""
        outs = multi_apply(self.forward_single, x, self.scales,
                           list(range(len(x))))
        return outs if self.use_kps else outs[:2]

    def forward_single(self, x: Tensor, scale: Optional[Scale],
                       level: int) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Outputs of one level (see :meth:`forward`)."""
        g = 0 if self.strides_share else level
        cls_feat = self.cls_convs[g](x)
        reg_feat = cls_feat if self.cls_reg_share else self.reg_convs[g](x)
        cls_score = self.conv_cls[g](cls_feat)
        bbox_pred = self.conv_reg[g](reg_feat)
        if scale is not None:
            bbox_pred = scale(bbox_pred)
        kps_pred = self.conv_kps[g](reg_feat) if self.use_kps else None
        return cls_score, bbox_pred, kps_pred

    # ------------------------------------------------------------ decode
    def flatten_preds(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        kps_preds: Optional[List[Optional[Tensor]]] = None
    ) -> Tuple[Tensor, Tensor, Optional[Tensor], Tensor, Tensor]:
        """All levels flattened in the reference order (level, y, x,
        anchor), with the priors.

        Returns:
            tuple: ``scores`` (B, N, C) sigmoid, ``distances`` (B, N, 4) in
            pixels, ``kps_offsets`` (B, N, K, 2) in pixels or None,
            ``centers`` (N, 2) and ``anchors`` (N, 4).
        """
        featmap_sizes = [c.shape[-2:] for c in cls_scores]
        device = cls_scores[0].device
        anchors = self.prior_generator.grid_priors(
            featmap_sizes, dtype=torch.float32, device=device)
        strides = torch.cat([
            a.new_full((a.size(0), 1), float(s[0]))
            for a, s in zip(anchors, self.prior_generator.strides)
        ])
        anchors = torch.cat(anchors)
        num_imgs = cls_scores[0].size(0)

        def flat(preds, k):
            return torch.cat([
                p.permute(0, 2, 3, 1).reshape(num_imgs, -1, k) for p in preds
            ], 1).float()

        scores = flat(cls_scores, self.cls_out_channels).sigmoid()
        distances = flat(bbox_preds, 4) * strides
        kps = None
        if self.use_kps and kps_preds is not None:
            kps = (flat(kps_preds, 2 * self.num_points) * strides).reshape(
                num_imgs, -1, self.num_points, 2)
        return scores, distances, kps, self.anchor_center(anchors), anchors

    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        kps_preds: Optional[List[Tensor]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Detections of each image: decoded boxes (clipped to the image)
        and keypoints of the anchors above ``score_thr``, rescaled, NMS.

        Returns:
            list[InstanceData]: ``bboxes`` (N, 4), ``scores``, ``labels`` and
            (``use_kps``) ``keypoints`` (N, K, 2), in original image pixels
            when ``rescale``.
        """
        cfg = self.test_cfg if cfg is None else cfg
        scores, dists, kps, centers, _ = self.flatten_preds(
            cls_scores, bbox_preds, kps_preds)
        if use_batched_predict(cfg, len(batch_img_metas), scores.device,
                               with_nms):
            return self._predict_batched(scores, dists, kps, centers,
                                         batch_img_metas, cfg, rescale,
                                         with_nms)
        return [
            self._predict_single(scores[i], dists[i],
                                 None if kps is None else kps[i], centers,
                                 img_meta, cfg, rescale, with_nms)
            for i, img_meta in enumerate(batch_img_metas)
        ]

    def _predict_single(self, scores: Tensor, dists: Tensor,
                        kps: Optional[Tensor], centers: Tensor, img_meta: dict,
                        cfg: ConfigDict, rescale: bool,
                        with_nms: bool) -> InstanceData:
        scores, labels, keep = filter_by_score(scores, cfg)
        bboxes = get_box_tensor(
            self.bbox_coder.decode(
                centers[keep], dists[keep], max_shape=img_meta['img_shape']))
        results = InstanceData(bboxes=bboxes, scores=scores, labels=labels)
        if kps is not None:
            results.keypoints = centers[keep][:, None] + kps[keep]
        return rescale_and_nms(results, img_meta, cfg, rescale, with_nms)

    def _predict_batched(self, scores: Tensor, dists: Tensor,
                         kps: Optional[Tensor], centers: Tensor,
                         batch_img_metas: List[dict], cfg: ConfigDict,
                         rescale: bool, with_nms: bool) -> InstanceList:
        """:meth:`_predict_single` of all images at once (the same
        detections; boxes clipped to each image as the coder clips)."""
        img, anc, labels, sc = select_candidates(scores,
                                                 cfg.get('score_thr', 0.02),
                                                 cfg.get('nms_pre', -1))
        bboxes = get_box_tensor(
            self.bbox_coder.decode(centers[anc], dists[img, anc]))
        if getattr(self.bbox_coder, 'clip_border', True):
            hw = bboxes.new_tensor(
                [m['img_shape'][:2] for m in batch_img_metas])[img]
            bboxes[:, 0::2] = torch.minimum(bboxes[:, 0::2].clamp(min=0),
                                            hw[:, 1:])
            bboxes[:, 1::2] = torch.minimum(bboxes[:, 1::2].clamp(min=0),
                                            hw[:, :1])
        results = InstanceData(bboxes=bboxes, scores=sc, labels=labels)
        if kps is not None:
            results.keypoints = centers[anc][:, None] + kps[img, anc]
        return batched_rescale_and_nms(results, img, batch_img_metas, cfg,
                                       rescale, with_nms)

    # --------------------------------------------------------------- loss
    def loss(self, x: Tuple[Tensor, ...],
             batch_data_samples: SampleList) -> dict:
        """Forward and :meth:`loss_by_feat` (``kps_preds`` None without
        ``use_kps``)."""
        outs = self(x)
        if not self.use_kps:
            outs = outs + (None, )
        gts, gts_ignore, img_metas = unpack_gt_instances(batch_data_samples)
        return self.loss_by_feat(*outs, gts, img_metas, gts_ignore)

    def get_targets(self,
                    anchor_list: List[List[Tensor]],
                    valid_flag_list: List[List[Tensor]],
                    batch_gt_instances: InstanceList,
                    batch_img_metas: List[dict],
                    batch_gt_instances_ignore: OptInstanceList = None,
                    unmap_outputs: bool = True) -> tuple:
        """GFL targets plus keypoint targets (K*2 coordinates in pixels)
        and weights (fraction of labelled points), split by level.

        Returns:
            tuple: ``anchors``, ``labels``, ``label_weights``,
            ``bbox_targets``, ``kps_targets``, ``kps_weights`` (each a list
            over levels of (B, N_l, ...)) and ``avg_factor`` (sum over
            images of ``max(num_pos, 1)``).
        """
        num_imgs = len(batch_img_metas)
        num_level_anchors = [a.size(0) for a in anchor_list[0]]
        anchors = [torch.cat(a) for a in anchor_list]
        flags = [torch.cat(f) for f in valid_flag_list]
        if batch_gt_instances_ignore is None:
            batch_gt_instances_ignore = [None] * num_imgs
        (all_anchors, all_labels, all_label_weights, all_bbox_targets, _,
         pos_inds_list, _, _, all_kps_targets, all_kps_weights) = multi_apply(
             self._get_targets_single,
             anchors,
             flags, [num_level_anchors] * num_imgs,
             batch_gt_instances,
             batch_img_metas,
             batch_gt_instances_ignore,
             unmap_outputs=unmap_outputs)
        avg_factor = sum(max(p.numel(), 1) for p in pos_inds_list)
        return tuple(
            images_to_levels(t, num_level_anchors)
            for t in (all_anchors, all_labels, all_label_weights,
                      all_bbox_targets, all_kps_targets,
                      all_kps_weights)) + (avg_factor, )

    def _get_targets_single(self,
                            flat_anchors: Tensor,
                            valid_flags: Tensor,
                            num_level_anchors: List[int],
                            gt_instances: InstanceData,
                            img_meta: dict,
                            gt_instances_ignore: Optional[InstanceData] = None,
                            unmap_outputs: bool = True) -> tuple:
        """:meth:`GFLHead._get_targets_single` plus ``kps_targets`` (N, 2K)
        and ``kps_weights`` (N, )."""
        out = super()._get_targets_single(flat_anchors, valid_flags,
                                          num_level_anchors, gt_instances,
                                          img_meta, gt_instances_ignore,
                                          unmap_outputs)
        sampling_result = out[-1]
        inside = anchor_inside_flags(flat_anchors, valid_flags,
                                     img_meta['img_shape'][:2],
                                     self.train_cfg['allowed_border'])
        num_valid = int(inside.sum())
        num_kps = 2 * max(self.num_points, 1)
        kps_targets = flat_anchors.new_zeros((num_valid, num_kps))
        kps_weights = flat_anchors.new_zeros((num_valid, ))
        pos_inds = sampling_result.pos_inds
        if self.use_kps and len(pos_inds) > 0 and \
                'keypoints' in gt_instances:
            gt_idx = sampling_result.pos_assigned_gt_inds
            kpts = torch.as_tensor(gt_instances.keypoints).to(flat_anchors)
            kps_targets[pos_inds] = kpts[gt_idx].reshape(-1, num_kps)
            if 'keypoints_visible' in gt_instances:
                vis = torch.as_tensor(
                    gt_instances.keypoints_visible).to(flat_anchors).reshape(
                        len(kpts), -1)
                kps_weights[pos_inds] = (vis[gt_idx] > 0).float().mean(1)
            else:
                kps_weights[pos_inds] = 1.
        if unmap_outputs:
            num_total = flat_anchors.size(0)
            kps_targets = unmap(kps_targets, num_total, inside)
            kps_weights = unmap(kps_weights, num_total, inside)
        return out + (kps_targets, kps_weights)

    def loss_by_feat(
            self,
            cls_scores: List[Tensor],
            bbox_preds: List[Tensor],
            kps_preds: Optional[List[Tensor]],
            batch_gt_instances: InstanceList,
            batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """``loss_cls``, ``loss_bbox`` and, with ``use_kps``, ``loss_kps``
        per level.

        Args:
            cls_scores, bbox_preds (list[Tensor]): Head outputs per level.
            kps_preds (list[Tensor], optional): Keypoint outputs per level
                (None without ``use_kps``).
            batch_gt_instances (list[InstanceData]): Faces: ``bboxes``,
                ``labels`` and, for keypoint targets, ``keypoints`` (N, K,
                2) with ``keypoints_visible`` (N, K).
            batch_img_metas (list[dict]): Image metas.
            batch_gt_instances_ignore (list[InstanceData], optional):
                Ignored faces (used by the assigner's ``ignore_iof_thr``).

        Returns:
            dict[str, list[Tensor]]: The losses of each level.
        """
        featmap_sizes = [f.size()[-2:] for f in cls_scores]
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(
            featmap_sizes, batch_img_metas, device=device)
        (anchors, labels, label_weights, bbox_targets, kps_targets,
         kps_weights,
         avg_factor) = self.get_targets(anchor_list, valid_flag_list,
                                        batch_gt_instances, batch_img_metas,
                                        batch_gt_instances_ignore)
        avg_factor = max(
            reduce_mean(
                torch.tensor(avg_factor, dtype=torch.float,
                             device=device)).item(), 1.0)
        if kps_preds is None:
            kps_preds = [None] * len(cls_scores)
        losses_cls, losses_bbox, losses_kps, weight_sums = multi_apply(
            self.loss_by_feat_single,
            anchors,
            cls_scores,
            bbox_preds,
            kps_preds,
            labels,
            label_weights,
            bbox_targets,
            kps_targets,
            kps_weights,
            self.prior_generator.strides,
            avg_factor=avg_factor)
        # the reference divides by the summed weights as they are (no
        # floor of 1 as mmdet's GFL head); eps only avoids 0 / 0
        weight_sum = reduce_mean(sum(weight_sums)).clamp_(
            min=torch.finfo(torch.float32).eps).item()
        losses = dict(
            loss_cls=losses_cls,
            loss_bbox=[x / weight_sum for x in losses_bbox])
        if self.use_kps:
            losses['loss_kps'] = [x / weight_sum for x in losses_kps]
        return losses

    def loss_by_feat_single(self, anchors: Tensor, cls_score: Tensor,
                            bbox_pred: Tensor, kps_pred: Optional[Tensor],
                            labels: Tensor, label_weights: Tensor,
                            bbox_targets: Tensor, kps_targets: Tensor,
                            kps_weights: Tensor, stride: Tuple[int, int],
                            avg_factor: float) -> tuple:
        """Losses of one level (unnormalised box / keypoint sums and the sum
        of their weights; see :meth:`loss_by_feat`)."""
        assert stride[0] == stride[1], 'h stride is not equal to w stride!'
        anchors = anchors.reshape(-1, 4)
        cls_score = cls_score.permute(0, 2, 3,
                                      1).reshape(-1, self.cls_out_channels)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)
        pos_inds = ((labels >= 0) &
                    (labels < self.num_classes)).nonzero().squeeze(1)
        score = label_weights.new_zeros(labels.shape)
        loss_kps = bbox_pred.sum() * 0
        if len(pos_inds) > 0:
            centers = self.anchor_center(anchors[pos_inds]) / stride[0]
            weight_targets = cls_score.detach().sigmoid().max(
                dim=1)[0][pos_inds]
            pos_pred = self.bbox_coder.decode(centers, bbox_pred[pos_inds])
            pos_target = bbox_targets.reshape(-1, 4)[pos_inds] / stride[0]
            score[pos_inds] = bbox_overlaps(
                pos_pred.detach(), pos_target, is_aligned=True)
            loss_bbox = self.loss_bbox(
                pos_pred, pos_target, weight=weight_targets, avg_factor=1.0)
            if self.use_kps and kps_pred is not None:
                num_kps = 2 * self.num_points
                kps_pred = kps_pred.permute(0, 2, 3, 1).reshape(-1, num_kps)
                kps_t = kps_targets.reshape(-1, num_kps)[pos_inds].reshape(
                    -1, self.num_points, 2) / stride[0] - centers[:, None]
                kps_w = kps_weights.reshape(-1)[pos_inds] * weight_targets
                loss_kps = self.loss_kps(
                    kps_pred[pos_inds],
                    kps_t.reshape(-1, num_kps),
                    weight=kps_w[:, None].expand(-1, num_kps),
                    avg_factor=1.0)
        else:
            loss_bbox = bbox_pred.sum() * 0
            if kps_pred is not None:
                loss_kps = kps_pred.sum() * 0
            weight_targets = bbox_pred.new_tensor(0)
        loss_cls = self.loss_cls(
            cls_score, (labels, score),
            weight=label_weights,
            avg_factor=avg_factor)
        return loss_cls, loss_bbox, loss_kps, weight_targets.sum()
