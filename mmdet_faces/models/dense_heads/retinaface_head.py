"""RetinaFace head: softmax classification, box and 5-point landmark
branches with the reference (biubug6) anchors, coding, matching and loss."""
import copy
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import (ConfigType, InstanceList, OptConfigType,
                         OptInstanceList, OptMultiConfig, reduce_mean)
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils import (batched_rescale_and_nms, filter_by_score, rescale_and_nms,
                     select_candidates, use_batched_predict)

__all__ = ['RetinaFaceHead']


@MODELS.register_module()
class RetinaFaceHead(BaseDenseHead):
    """RetinaFace head (biubug6/Pytorch_Retinaface ``ClassHead``,
    ``BboxHead``, ``LandmarkHead`` + ``MultiBoxLoss`` + test decoding).

    Per level one 1x1 conv (with bias) each for classification
    (``num_anchors * (num_classes + 1)`` channels, softmax, channel 0 is
    background as in the reference), boxes (``num_anchors * 4``) and
    landmarks (``num_anchors * 2 * num_points``). Flattened like the
    reference: anchor index ``(y * W + x) * num_anchors + a``, levels
    concatenated.

    Default anchors equal the reference ``PriorBox`` (min sizes [16, 32],
    [64, 128], [256, 512] at strides 8/16/32, centres ``(x + 0.5) *
    stride``), also for non-square inputs. Boxes are coded by mmdet's
    ``DeltaXYWHBBoxCoder`` with stds (0.1, 0.1, 0.2, 0.2) (the reference
    variances) and landmarks by :class:`LandmarkCoder`.

    Loss (the reference ``MultiBoxLoss``; ``N`` = positives in the batch,
    at least 1, averaged over GPUs):

    - ``loss_cls``: cross-entropy summed over positives and OHEM negatives,
      / N. Negatives per image: ``neg_pos_ratio`` (7) x its positives,
      ranked by classification loss with positives excluded. An image with
      no positive anchor (no faces, or only faces too small to match) takes
      its ``num_neg_no_pos`` hardest negatives instead (the reference gives
      such an image none, or crashes when it has no face at all). Ignored
      anchors (see :class:`RetinaFaceAssigner`) are never negatives.
    - ``loss_bbox``: smooth-L1 (beta 1) summed over positives, / N.
    - ``loss_landmark``: smooth-L1 summed over positives matched to faces
      that have landmarks (any ``keypoints_visible > 0``; points with
      ``keypoints_visible == 0`` have weight 0), / their count (>= 1).

    Each is multiplied by ``loss_weights`` (reference: cls 1, bbox 2,
    landmark 1).

    Args:
        num_classes (int): Object classes (1: face).
        in_channels (int): Input channels of every level.
        num_points (int): Landmarks per face. Defaults to 5.
        anchor_generator (dict): Anchor generator config.
        bbox_coder (dict): Box coder config.
        landmark_coder (dict): Landmark coder config.
        wh_ratio_clip (float): Decoded width/height clip passed to the box
            coder; the default never triggers on real outputs (the reference
            has none).
        loss_weights (dict): Weights of ``loss_cls``, ``loss_bbox`` and
            ``loss_landmark``.
        neg_pos_ratio (int): OHEM negatives per positive. Defaults to 7.
        num_neg_no_pos (int): Hardest negatives for an image without
            positives. Defaults to 16.
        smooth_l1_beta (float): Smooth-L1 beta. Defaults to 1.0.
        train_cfg (dict, optional): ``assigner`` config.
        test_cfg (dict, optional): ``score_thr``, ``nms_pre`` (<= 0: all),
            ``nms`` (mmcv ``batched_nms`` config), ``max_per_img`` (<= 0:
            all).
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(self,
                 num_classes: int = 1,
                 in_channels: int = 64,
                 num_points: int = 5,
                 anchor_generator: ConfigType = dict(
                     type='AnchorGenerator',
                     strides=[8, 16, 32],
                     ratios=[1.0],
                     scales=[1, 2],
                     base_sizes=[16, 64, 256],
                     centers=[(4, 4), (8, 8), (16, 16)]),
                 bbox_coder: ConfigType = dict(
                     type='DeltaXYWHBBoxCoder',
                     target_means=[0., 0., 0., 0.],
                     target_stds=[0.1, 0.1, 0.2, 0.2],
                     clip_border=False),
                 landmark_coder: ConfigType = dict(
                     type='LandmarkCoder', num_points=5, std=0.1),
                 wh_ratio_clip: float = 1e-6,
                 loss_weights: Dict[str, float] = dict(
                     loss_cls=1.0, loss_bbox=2.0, loss_landmark=1.0),
                 neg_pos_ratio: int = 7,
                 num_neg_no_pos: int = 16,
                 smooth_l1_beta: float = 1.0,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.cls_out_channels = num_classes + 1
        self.in_channels = in_channels
        self.num_points = num_points
        self.prior_generator = TASK_UTILS.build(anchor_generator)
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.landmark_coder = TASK_UTILS.build(landmark_coder)
        assert self.landmark_coder.num_points == num_points
        self.wh_ratio_clip = wh_ratio_clip
        self.loss_weights = dict(
            loss_cls=1.0, loss_bbox=2.0, loss_landmark=1.0)
        self.loss_weights.update(loss_weights)
        self.neg_pos_ratio = neg_pos_ratio
        self.num_neg_no_pos = num_neg_no_pos
        self.smooth_l1_beta = smooth_l1_beta
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        if train_cfg is not None:
            self.assigner = TASK_UTILS.build(train_cfg['assigner'])
        num_priors = self.prior_generator.num_base_priors
        assert len(set(num_priors)) == 1, 'same anchors per level expected'
        self.num_base_priors = num_priors[0]
        num_levels = self.prior_generator.num_levels
        self.cls_convs = nn.ModuleList([
            nn.Conv2d(in_channels,
                      self.num_base_priors * self.cls_out_channels, 1)
            for _ in range(num_levels)
        ])
        self.reg_convs = nn.ModuleList([
            nn.Conv2d(in_channels, self.num_base_priors * 4, 1)
            for _ in range(num_levels)
        ])
        self.kpt_convs = nn.ModuleList([
            nn.Conv2d(in_channels, self.num_base_priors * 2 * num_points, 1)
            for _ in range(num_levels)
        ])

    # ------------------------------------------------------------ forward
    def forward(
        self,
        x: Tuple[Tensor,
                 ...]) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
        """Return per-level ``cls_scores``, ``bbox_preds``, ``kpt_preds``
        (NCHW; channels ``anchor * k + j``)."""
        assert len(x) == len(self.cls_convs)
        cls_scores = [conv(f) for conv, f in zip(self.cls_convs, x)]
        bbox_preds = [conv(f) for conv, f in zip(self.reg_convs, x)]
        kpt_preds = [conv(f) for conv, f in zip(self.kpt_convs, x)]
        return cls_scores, bbox_preds, kpt_preds

    @staticmethod
    def _flatten(preds: List[Tensor], k: int) -> Tensor:
        """Levels of (B, A*k, H, W) -> (B, sum(H*W*A), k), reference order."""
        return torch.cat(
            [p.permute(0, 2, 3, 1).reshape(p.size(0), -1, k) for p in preds],
            dim=1)

    def flatten_preds(
            self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
            kpt_preds: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Flatten the outputs like the reference network and make anchors.

        Returns:
            tuple: ``cls`` (B, A, C+1) logits, ``bbox`` (B, A, 4),
            ``kpt`` (B, A, 2K) and ``anchors`` (A, 4).
        """
        featmap_sizes = [s.shape[-2:] for s in cls_scores]
        # fp32 anchors even under AMP: fp16 rounds pixel coordinates > 1024
        # to 1 px and decoded boxes with them
        anchors = torch.cat(
            self.prior_generator.grid_priors(
                featmap_sizes,
                dtype=torch.float32,
                device=cls_scores[0].device))
        return (self._flatten(cls_scores, self.cls_out_channels),
                self._flatten(bbox_preds, 4),
                self._flatten(kpt_preds,
                              2 * self.num_points), get_box_tensor(anchors))

    # --------------------------------------------------------------- loss
    def _pack(self, instances: List[Optional[InstanceData]],
              device: torch.device, with_kpts: bool) -> Dict[str, Tensor]:
        """Concatenate per-image instances into packed tensors."""
        boxes, inds, labels, kpts, vis = [], [], [], [], []
        for i, inst in enumerate(instances):
            if inst is None or 'bboxes' not in inst:
                continue
            b = get_box_tensor(inst.bboxes).to(device).float().reshape(-1, 4)
            n = b.size(0)
            boxes.append(b)
            inds.append(torch.full((n, ), i, dtype=torch.long, device=device))
            if not with_kpts:
                continue
            labels.append(
                inst.labels.to(device).long() if 'labels' in
                inst else torch.zeros(n, dtype=torch.long, device=device))
            if 'keypoints' in inst:
                k = torch.as_tensor(inst.keypoints).to(device).float()
                k = k.reshape(n, self.num_points, 2)
                if 'keypoints_visible' in inst:
                    v = torch.as_tensor(inst.keypoints_visible).to(device)
                    v = v.float().reshape(n, self.num_points)
                else:
                    v = torch.ones(n, self.num_points, device=device)
            else:
                k = torch.zeros(n, self.num_points, 2, device=device)
                v = torch.zeros(n, self.num_points, device=device)
            kpts.append(k)
            vis.append(v)
        packed = dict(
            bboxes=torch.cat(boxes) if boxes else torch.zeros(
                0, 4, device=device),
            img_inds=torch.cat(inds) if inds else torch.zeros(
                0, dtype=torch.long, device=device))
        if with_kpts:
            packed['labels'] = torch.cat(labels) if labels else torch.zeros(
                0, dtype=torch.long, device=device)
            packed['keypoints'] = torch.cat(kpts) if kpts else torch.zeros(
                0, self.num_points, 2, device=device)
            packed['keypoints_visible'] = torch.cat(vis) if vis else \
                torch.zeros(0, self.num_points, device=device)
        return packed

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        kpt_preds: List[Tensor],
        batch_gt_instances: InstanceList,
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: OptInstanceList = None
    ) -> Dict[str, Tensor]:
        """Compute ``loss_cls``, ``loss_bbox`` and ``loss_landmark``.

        Args:
            cls_scores, bbox_preds, kpt_preds (list[Tensor]): Head outputs.
            batch_gt_instances (list[InstanceData]): ``bboxes``, ``labels``,
                optional ``keypoints`` (N, K, 2) and ``keypoints_visible``.
            batch_img_metas (list[dict]): Image metas.
            batch_gt_instances_ignore (list[InstanceData], optional):
                Ignored faces (``bboxes``).

        Returns:
            dict[str, Tensor]: Weighted losses.
        """
        cls, bbox, kpt, anchors = self.flatten_preds(cls_scores, bbox_preds,
                                                     kpt_preds)
        num_imgs, num_anchors = cls.shape[:2]
        device = cls.device
        gts = self._pack(batch_gt_instances, device, with_kpts=True)
        if batch_gt_instances_ignore is None:
            batch_gt_instances_ignore = [None] * num_imgs
        ign = self._pack(batch_gt_instances_ignore, device, with_kpts=False)
        assigned, _ = self.assigner.assign_batch(anchors, gts['bboxes'],
                                                 gts['img_inds'], num_imgs,
                                                 ign['bboxes'],
                                                 ign['img_inds'])
        return self.loss_by_assignment(cls, bbox, kpt, anchors, assigned, gts)

    def loss_by_assignment(self, cls: Tensor, bbox: Tensor, kpt: Tensor,
                           anchors: Tensor, assigned: Tensor,
                           gts: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The reference ``MultiBoxLoss`` given the matching.

        Args:
            cls (Tensor): (B, A, C+1) logits.
            bbox (Tensor): (B, A, 4) box deltas.
            kpt (Tensor): (B, A, 2K) landmark deltas.
            anchors (Tensor): (A, 4).
            assigned (Tensor): (B, A) from ``assign_batch``.
            gts (dict): Packed ``bboxes``, ``labels``, ``keypoints``,
                ``keypoints_visible``.
        """
        num_imgs, num_anchors, num_cls = cls.shape
        pos = assigned > 0
        ignored = assigned < 0
        gt_idx = (assigned - 1).clamp(min=0)
        labels = torch.zeros_like(assigned)
        if gts['labels'].numel() > 0:
            labels = torch.where(pos, gts['labels'][gt_idx] + 1, labels)

        # OHEM ranking loss exactly as the reference (log_sum_exp with the
        # batch max, positives zeroed); ignored anchors rank last.
        with torch.no_grad():
            flat = cls.detach().reshape(-1, num_cls)
            x_max = flat.max()
            rank_loss = (
                torch.log(torch.sum(torch.exp(flat - x_max), 1, keepdim=True))
                + x_max - flat.gather(1, labels.view(-1, 1)))
            rank_loss = rank_loss.view(num_imgs, num_anchors)
            rank_loss[pos] = 0
            rank_loss[ignored] = -1
            _, loss_idx = rank_loss.sort(1, descending=True)
            _, idx_rank = loss_idx.sort(1)
            num_pos_img = pos.long().sum(1)
            num_neg = torch.where(
                num_pos_img > 0, self.neg_pos_ratio * num_pos_img,
                torch.full_like(num_pos_img,
                                self.num_neg_no_pos)).clamp(max=num_anchors -
                                                            1)
            neg = (idx_rank < num_neg[:, None]) & ~ignored
        selected = pos | neg

        num_pos = reduce_mean(pos.sum().float()).clamp(min=1.)
        loss_cls = F.cross_entropy(
            cls[selected], labels[selected], reduction='sum') / num_pos

        # boxes
        pos_anchors = anchors[None].expand(num_imgs, -1, -1)[pos]
        pos_gt_idx = gt_idx[pos]
        if pos_gt_idx.numel() > 0:
            bbox_targets = self.bbox_coder.encode(pos_anchors,
                                                  gts['bboxes'][pos_gt_idx])
            loss_bbox = F.smooth_l1_loss(
                bbox[pos],
                bbox_targets,
                beta=self.smooth_l1_beta,
                reduction='sum') / num_pos
        else:
            loss_bbox = bbox.sum() * 0.

        # landmarks: positives matched to faces with landmarks
        vis = gts['keypoints_visible'] > 0
        has_kpt = vis.any(dim=1)
        pos_kpt = torch.zeros_like(pos)
        if has_kpt.numel() > 0:
            pos_kpt = pos & has_kpt[gt_idx]
        num_pos_kpt = reduce_mean(pos_kpt.sum().float()).clamp(min=1.)
        kpt_gt_idx = gt_idx[pos_kpt]
        if kpt_gt_idx.numel() > 0:
            kpt_anchors = anchors[None].expand(num_imgs, -1, -1)[pos_kpt]
            kpt_targets = self.landmark_coder.encode(
                kpt_anchors, gts['keypoints'][kpt_gt_idx])
            # unlabelled points (visible 0) of a face with landmarks: no loss
            # (where(), not a product, so their coordinates may be anything)
            labelled = vis[kpt_gt_idx].repeat_interleave(2, dim=1)
            loss_kpt = F.smooth_l1_loss(
                kpt[pos_kpt],
                kpt_targets,
                beta=self.smooth_l1_beta,
                reduction='none')
            loss_kpt = torch.where(labelled, loss_kpt, loss_kpt.new_zeros(
                ())).sum() / num_pos_kpt
        else:
            loss_kpt = kpt.sum() * 0.

        w = self.loss_weights
        return dict(
            loss_cls=loss_cls * w['loss_cls'],
            loss_bbox=loss_bbox * w['loss_bbox'],
            loss_landmark=loss_kpt * w['loss_landmark'])

    # ------------------------------------------------------------ predict
    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        kpt_preds: List[Tensor],
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Decode, filter by score, rescale and NMS, per image.

        Batches of several images on an accelerator take the batched path
        (:mod:`mmdet_faces.models.utils.batched_predict`, ``cfg``
        ``batched_predict``: ``'auto'`` / True / False): the same
        detections in a fixed number of kernel launches.

        Returns:
            list[InstanceData]: ``bboxes`` (N, 4), ``scores``, ``labels``
            and ``keypoints`` (N, K, 2), in original image coordinates when
            ``rescale``.
        """
        cfg = copy.deepcopy(self.test_cfg if cfg is None else cfg)
        cls, bbox, kpt, anchors = self.flatten_preds(cls_scores, bbox_preds,
                                                     kpt_preds)
        scores = cls.softmax(-1)[..., 1:]
        if use_batched_predict(cfg, len(batch_img_metas), scores.device,
                               with_nms):
            return self._predict_batched(scores, bbox, kpt, anchors,
                                         batch_img_metas, cfg, rescale,
                                         with_nms)
        results_list = []
        for i, img_meta in enumerate(batch_img_metas):
            results_list.append(
                self._predict_single(scores[i], bbox[i], kpt[i], anchors,
                                     img_meta, cfg, rescale, with_nms))
        return results_list

    def _predict_single(self, scores: Tensor, bbox: Tensor, kpt: Tensor,
                        anchors: Tensor, img_meta: dict, cfg: ConfigDict,
                        rescale: bool, with_nms: bool) -> InstanceData:
        scores, labels, keep = filter_by_score(scores, cfg)
        bboxes = self.bbox_coder.decode(
            anchors[keep], bbox[keep], wh_ratio_clip=self.wh_ratio_clip)
        bboxes = get_box_tensor(bboxes)
        keypoints = self.landmark_coder.decode(anchors[keep], kpt[keep])
        results = InstanceData(
            bboxes=bboxes, scores=scores, labels=labels, keypoints=keypoints)
        return rescale_and_nms(results, img_meta, cfg, rescale, with_nms)

    def _predict_batched(self, scores: Tensor, bbox: Tensor, kpt: Tensor,
                         anchors: Tensor, batch_img_metas: List[dict],
                         cfg: ConfigDict, rescale: bool,
                         with_nms: bool) -> InstanceList:
        """:meth:`_predict_single` of all images at once (the same
        detections)."""
        img, anc, labels, sc = select_candidates(scores,
                                                 cfg.get('score_thr', 0.02),
                                                 cfg.get('nms_pre', -1))
        bboxes = get_box_tensor(
            self.bbox_coder.decode(
                anchors[anc], bbox[img, anc],
                wh_ratio_clip=self.wh_ratio_clip))
        keypoints = self.landmark_coder.decode(anchors[anc], kpt[img, anc])
        results = InstanceData(
            bboxes=bboxes, scores=sc, labels=labels, keypoints=keypoints)
        return batched_rescale_and_nms(results, img, batch_img_metas, cfg,
                                       rescale, with_nms)
