"""A faithful, self-contained re-creation of SCRFD (insightface
``detection/scrfd``, an mmdet 2.x fork) for parity tests.

Test-only, plain torch (no mmcv / mmdet): the searched ``MobileNetV1``
(``mmdet/models/backbones/mobilenet.py``), ``ResNetV1e`` with
``BasicBlock`` / ``Bottleneck`` (``mmdet/models/backbones/resnet.py``,
``mmdet/models/utils/res_layer.py``), ``PAFPN`` over ``FPN``
(``mmdet/models/necks/{fpn,pafpn}.py``) and ``SCRFDHead.forward_single``
(``mmdet/models/dense_heads/scrfd_head.py``), with the *same module
names*, so ``SCRFDRef(cfg).state_dict()`` has the released ``.pth`` key
layout (``backbone.*``, ``neck.*``, ``bbox_head.*`` including the unused
``bbox_head.integral.project`` buffer). mmcv's ``ConvModule`` and
``DepthwiseSeparableConvModule`` are re-created with their member names
(``conv``, ``bn`` / ``gn``, ``depthwise_conv``, ``pointwise_conv``).

Decoding: :func:`decode` is the reference's test path
(``SCRFDHead._get_bboxes_single``: sigmoid scores, ``distance2bbox`` of
the anchor centres and ``distance * stride`` clipped to the image) plus
the keypoint decoding of insightface's runtime
(``python-package/insightface/model_zoo/scrfd.py``: ``distance2kps`` of
``offset * stride``), both per anchor, before the score threshold and NMS.
Anchor centres are mmdet 2.x ``AnchorGenerator``'s with ``center_offset=0``
(``(x * stride, y * stride)``, ``num_anchors`` per location, location
major), as the runtime's ``np.mgrid`` centres.

Differences from the original, none of which changes a number: no mmcv
registry / init code; ``Scale`` is a one-parameter module named ``scale``;
``randomize_`` (not in the reference) sets every weight and statistic.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .random_init import randomize_modules_


# --------------------------------------------------------------- configs
def _head(in_channels,
          convs,
          feat,
          norm,
          shared=True,
          dw=False,
          scale_mode=2,
          kps=False):
    return dict(
        in_channels=in_channels,
        stacked_convs=convs,
        feat_channels=feat,
        norm=norm,
        cls_reg_share=True,
        strides_share=shared,
        dw_conv=dw,
        scale_mode=scale_mode,
        use_kps=kps)


def _model(backbone, neck_in, out, head):
    return dict(
        backbone=backbone,
        neck=dict(in_channels=neck_in, out_channels=out),
        head=head)


def _resnet(block, blocks, planes, stem):
    return dict(
        type='ResNetV1e',
        base_channels=stem,
        block_cfg=dict(block=block, stage_blocks=blocks, stage_planes=planes))


# The released configs' model settings (configs/scrfd/*.py of the fork).
_MNET_500M = dict(
    type='MobileNetV1',
    block_cfg=dict(
        stage_blocks=(2, 3, 2, 6), stage_planes=[16, 16, 40, 72, 152, 288]))
SCRFD_500M = _model(_MNET_500M, [40, 72, 152, 288], 16,
                    _head(16, 2, 64, ('GN', 16), dw=True))
SCRFD_500M_KPS = _model(
    _MNET_500M, [40, 72, 152, 288], 16,
    _head(
        16, 2, 64, ('BN', None), shared=False, dw=True, scale_mode=0,
        kps=True))
SCRFD_2_5G_KPS = _model(
    _resnet('BasicBlock', (3, 5, 3, 2), [24, 48, 48, 80],
            24), [24, 48, 48, 80], 24,
    _head(24, 2, 64, ('BN', None), shared=False, kps=True))
SCRFD_10G = _model(
    _resnet('BasicBlock', (3, 4, 2, 3), [56, 88, 88, 224], 56),
    [56, 88, 88, 224], 56, _head(56, 3, 80, ('GN', 16)))
SCRFD_34G = _model(
    _resnet('Bottleneck', (17, 16, 2, 8), [56, 56, 144, 184], 56),
    [224, 224, 576, 736], 128, _head(128, 2, 256, ('GN', 32)))

STRIDES = (8, 16, 32)
NUM_ANCHORS = 2
REG_MAX = 8


# ------------------------------------------------------------ mmcv parts
def _norm(kind: str, groups: Optional[int], ch: int) -> Tuple[str, nn.Module]:
    if kind == 'BN':
        return 'bn', nn.BatchNorm2d(ch)
    return 'gn', nn.GroupNorm(groups, ch)


class ConvModule(nn.Module):
    """mmcv ``ConvModule``: conv (bias only without norm), norm, ReLU."""

    def __init__(self,
                 in_ch,
                 out_ch,
                 k,
                 stride=1,
                 padding=0,
                 groups=1,
                 norm=None,
                 act=True):
        super().__init__()
        self.conv = nn.Conv2d(
            in_ch,
            out_ch,
            k,
            stride,
            padding,
            groups=groups,
            bias=norm is None)
        self.norm_name = None
        if norm is not None:
            self.norm_name, layer = _norm(norm[0], norm[1], out_ch)
            self.add_module(self.norm_name, layer)
        self.act = act

    def forward(self, x):
        x = self.conv(x)
        if self.norm_name is not None:
            x = getattr(self, self.norm_name)(x)
        return F.relu(x) if self.act else x


class DepthwiseSeparableConvModule(nn.Module):
    """mmcv ``DepthwiseSeparableConvModule`` (ReLU after both convs)."""

    def __init__(self, in_ch, out_ch, k, padding, norm):
        super().__init__()
        self.depthwise_conv = ConvModule(
            in_ch, in_ch, k, padding=padding, groups=in_ch, norm=norm)
        self.pointwise_conv = ConvModule(in_ch, out_ch, 1, norm=norm)

    def forward(self, x):
        return self.pointwise_conv(self.depthwise_conv(x))


class Scale(nn.Module):
    """mmcv ``Scale``."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale, dtype=torch.float))

    def forward(self, x):
        return x * self.scale


# ------------------------------------------------------------- backbones
def _stages(net, x, names):
    """Run the stages ``names`` of ``net``; outputs of its
    ``out_indices``."""
    outs = []
    for i, name in enumerate(names):
        x = getattr(net, name)(x)
        if i in net.out_indices:
            outs.append(x)
    return tuple(outs)


class MobileNetV1(nn.Module):
    """``mmdet/models/backbones/mobilenet.py`` of the fork."""

    def __init__(self, block_cfg, out_indices=(0, 1, 2, 3)):
        super().__init__()
        self.out_indices = out_indices

        def conv_bn(inp, oup, stride):
            return nn.Sequential(
                nn.Conv2d(inp, oup, 3, stride, 1, bias=False),
                nn.BatchNorm2d(oup), nn.ReLU(inplace=True))

        def conv_dw(inp, oup, stride):
            return nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
                nn.BatchNorm2d(inp), nn.ReLU(inplace=True),
                nn.Conv2d(inp, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup),
                nn.ReLU(inplace=True))

        planes = block_cfg['stage_planes']
        blocks = block_cfg['stage_blocks']
        self.stem = nn.Sequential(
            conv_bn(3, planes[0], 2), conv_dw(planes[0], planes[1], 1))
        self.stage_layers = []
        for i, num in enumerate(blocks):
            layers = [conv_dw(planes[i + 1], planes[i + 2], 2)] + [
                conv_dw(planes[i + 2], planes[i + 2], 1)
                for _ in range(num - 1)
            ]
            self.add_module(f'layer{i + 1}', nn.Sequential(*layers))
            self.stage_layers.append(f'layer{i + 1}')

    def forward(self, x):
        return _stages(self, self.stem(x), self.stage_layers)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """``style='pytorch'``: the stride is on the 3x3 conv."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNetV1e(nn.Module):
    """``ResNetV1e`` of the fork: deep stem, ``avg_down``, 2x2 max pool
    (``no_pool33``), ``block_cfg`` stages, strides (1, 2, 2, 2)."""

    def __init__(self, block_cfg, base_channels, out_indices=(0, 1, 2, 3)):
        super().__init__()
        block = BasicBlock if block_cfg['block'] == 'BasicBlock' \
            else Bottleneck
        stem = base_channels
        self.out_indices = out_indices
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem // 2, 3, 2, 1, bias=False),
            nn.BatchNorm2d(stem // 2), nn.ReLU(inplace=True),
            nn.Conv2d(stem // 2, stem // 2, 3, 1, 1, bias=False),
            nn.BatchNorm2d(stem // 2), nn.ReLU(inplace=True),
            nn.Conv2d(stem // 2, stem, 3, 1, 1, bias=False),
            nn.BatchNorm2d(stem), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=2, stride=2, padding=0)
        inplanes = stem
        self.res_layers = []
        for i, (num, planes) in enumerate(
                zip(block_cfg['stage_blocks'], block_cfg['stage_planes'])):
            stride = 1 if i == 0 else 2
            downsample = None
            if stride != 1 or inplanes != planes * block.expansion:
                downsample = nn.Sequential(
                    nn.AvgPool2d(
                        stride,
                        stride,
                        ceil_mode=True,
                        count_include_pad=False),
                    nn.Conv2d(
                        inplanes, planes * block.expansion, 1, bias=False),
                    nn.BatchNorm2d(planes * block.expansion))
            layers = [block(inplanes, planes, stride, downsample)]
            inplanes = planes * block.expansion
            layers += [block(inplanes, planes) for _ in range(1, num)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*layers))
            self.res_layers.append(f'layer{i + 1}')

    def forward(self, x):
        return _stages(self, self.maxpool(self.stem(x)), self.res_layers)


# ------------------------------------------------------------------ neck
class PAFPN(nn.Module):
    """``PAFPN(start_level=1, add_extra_convs='on_output', num_outs=3)``
    on 4 inputs (no extra level is built), no norm, no activation."""

    def __init__(self, in_channels, out_channels, start_level=1):
        super().__init__()
        self.start_level = start_level
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        self.downsample_convs = nn.ModuleList()
        self.pafpn_convs = nn.ModuleList()
        levels = range(start_level, len(in_channels))
        for i in levels:
            self.lateral_convs.append(
                ConvModule(in_channels[i], out_channels, 1, act=False))
            self.fpn_convs.append(
                ConvModule(
                    out_channels, out_channels, 3, padding=1, act=False))
        for _ in list(levels)[1:]:
            self.downsample_convs.append(
                ConvModule(
                    out_channels,
                    out_channels,
                    3,
                    stride=2,
                    padding=1,
                    act=False))
            self.pafpn_convs.append(
                ConvModule(
                    out_channels, out_channels, 3, padding=1, act=False))

    def forward(self, inputs):
        laterals = [
            conv(inputs[i + self.start_level])
            for i, conv in enumerate(self.lateral_convs)
        ]
        n = len(laterals)
        for i in range(n - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[2:], mode='nearest')
        inter = [self.fpn_convs[i](laterals[i]) for i in range(n)]
        for i in range(n - 1):
            inter[i + 1] = inter[i + 1] + self.downsample_convs[i](inter[i])
        return tuple([inter[0]] +
                     [self.pafpn_convs[i - 1](inter[i]) for i in range(1, n)])


# ------------------------------------------------------------------ head
class Integral(nn.Module):
    """The head's (unused without DFL) integral, for its buffer."""

    def __init__(self, reg_max=REG_MAX):
        super().__init__()
        self.register_buffer('project', torch.linspace(0, reg_max,
                                                       reg_max + 1))


class SCRFDHead(nn.Module):
    """``SCRFDHead._init_layers`` / ``forward_single`` of the fork (no DFL,
    ``feat_mults=None``)."""

    def __init__(self, in_channels, stacked_convs, feat_channels, norm,
                 cls_reg_share, strides_share, dw_conv, scale_mode, use_kps):
        super().__init__()
        self.strides_share = strides_share
        self.cls_reg_share = cls_reg_share
        self.use_kps = use_kps
        self.use_scale = scale_mode > 0 and (strides_share or scale_mode == 2)
        keys = ['0'] if strides_share else [str(s) for s in STRIDES]
        self.cls_stride_convs = nn.ModuleDict()
        self.reg_stride_convs = nn.ModuleDict()
        self.stride_cls = nn.ModuleDict()
        self.stride_reg = nn.ModuleDict()
        if use_kps:
            self.stride_kps = nn.ModuleDict()

        def conv(chn):
            if dw_conv:
                return DepthwiseSeparableConvModule(chn, feat_channels, 3, 1,
                                                    norm)
            return ConvModule(chn, feat_channels, 3, padding=1, norm=norm)

        for key in keys:
            cls_convs, reg_convs = nn.ModuleList(), nn.ModuleList()
            for i in range(stacked_convs):
                chn = in_channels if i == 0 else feat_channels
                cls_convs.append(conv(chn))
                if not cls_reg_share:
                    reg_convs.append(conv(chn))
            self.cls_stride_convs[key] = cls_convs
            self.reg_stride_convs[key] = reg_convs
            self.stride_cls[key] = nn.Conv2d(
                feat_channels, NUM_ANCHORS, 3, padding=1)
            self.stride_reg[key] = nn.Conv2d(
                feat_channels, 4 * NUM_ANCHORS, 3, padding=1)
            if use_kps:
                self.stride_kps[key] = nn.Conv2d(
                    feat_channels, 10 * NUM_ANCHORS, 3, padding=1)
        if self.use_scale:
            self.scales = nn.ModuleList([Scale(1.0) for _ in STRIDES])
        else:
            self.scales = [None for _ in STRIDES]
        self.integral = Integral(REG_MAX)

    def forward_single(self, x, scale, stride):
        key = '0' if self.strides_share else str(stride)
        cls_feat, reg_feat = x, x
        for m in self.cls_stride_convs[key]:
            cls_feat = m(cls_feat)
        if not self.cls_reg_share:
            for m in self.reg_stride_convs[key]:
                reg_feat = m(reg_feat)
        else:
            reg_feat = cls_feat
        cls_score = self.stride_cls[key](cls_feat)
        bbox_pred = self.stride_reg[key](reg_feat)
        if self.use_scale:
            bbox_pred = scale(bbox_pred)
        if self.use_kps:
            kps_pred = self.stride_kps[key](reg_feat)
        else:
            kps_pred = bbox_pred.new_zeros(
                (bbox_pred.shape[0], 10, bbox_pred.shape[2],
                 bbox_pred.shape[3]))
        return cls_score, bbox_pred, kps_pred

    def forward(self, feats):
        outs = [
            self.forward_single(f, s, st)
            for f, s, st in zip(feats, self.scales, STRIDES)
        ]
        return tuple(list(o) for o in zip(*outs))


class SCRFDRef(nn.Module):
    """The whole detector as in the released checkpoints."""

    def __init__(self, cfg: Dict):
        super().__init__()
        b = dict(cfg['backbone'])
        if b.pop('type') == 'MobileNetV1':
            self.backbone = MobileNetV1(**b)
        else:
            self.backbone = ResNetV1e(**b)
        self.neck = PAFPN(**cfg['neck'])
        self.bbox_head = SCRFDHead(**cfg['head'])

    def forward(self, img):
        """``img``: normalised RGB (x - 127.5) / 128, (B, 3, H, W)."""
        return self.bbox_head(self.neck(self.backbone(img)))


# -------------------------------------------------------------- decoding
def anchor_centers(h: int, w: int, stride: int) -> torch.Tensor:
    """mmdet 2.x AnchorGenerator centres (``center_offset=0``) of one
    level: (h * w * NUM_ANCHORS, 2), location major."""
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    c = torch.stack([xx.reshape(-1), yy.reshape(-1)], -1).float() * stride
    return c[:, None].expand(-1, NUM_ANCHORS, 2).reshape(-1, 2)


def distance2bbox(points, distance, max_shape=None):
    """``mmdet.core.bbox.transforms.distance2bbox`` of the fork."""
    x1 = points[:, 0] - distance[:, 0]
    y1 = points[:, 1] - distance[:, 1]
    x2 = points[:, 0] + distance[:, 2]
    y2 = points[:, 1] + distance[:, 3]
    if max_shape is not None:
        x1 = x1.clamp(min=0, max=max_shape[1])
        y1 = y1.clamp(min=0, max=max_shape[0])
        x2 = x2.clamp(min=0, max=max_shape[1])
        y2 = y2.clamp(min=0, max=max_shape[0])
    return torch.stack([x1, y1, x2, y2], -1)


def distance2kps(points, distance):
    """insightface runtime ``distance2kps`` (no clipping)."""
    preds = []
    for i in range(0, distance.shape[1], 2):
        preds.append(points[:, i % 2] + distance[:, i])
        preds.append(points[:, i % 2 + 1] + distance[:, i + 1])
    return torch.stack(preds, -1)


def decode(outs, img_shape: Sequence[int], image: int = 0) -> dict:
    """Per-anchor ``scores`` (N,), ``boxes`` (N, 4) clipped to
    ``img_shape`` (h, w) and ``kps`` (N, 10) of image ``image``, levels
    concatenated; ``kps`` is None for a model without keypoints (whose
    zero ``kps_pred`` has 10 channels, not ``10 * NUM_ANCHORS``)."""
    cls_scores, bbox_preds, kps_preds = outs
    scores, boxes, kps = [], [], []
    for cls, reg, kp, stride in zip(cls_scores, bbox_preds, kps_preds,
                                    STRIDES):
        h, w = cls.shape[-2:]
        centers = anchor_centers(h, w, stride)
        scores.append(cls[image].permute(1, 2, 0).reshape(-1).sigmoid())
        dist = reg[image].permute(1, 2, 0).reshape(-1, 4) * stride
        boxes.append(distance2bbox(centers, dist, max_shape=img_shape))
        if kp.shape[1] == 10 * NUM_ANCHORS:
            off = kp[image].permute(1, 2, 0).reshape(-1, 10) * stride
            kps.append(distance2kps(centers, off))
    return dict(
        scores=torch.cat(scores),
        boxes=torch.cat(boxes),
        kps=torch.cat(kps) if kps else None)


def randomize_(net: nn.Module,
               seed: int = 0,
               head_gain: float = 1.0) -> nn.Module:
    """Random weights *and* norm statistics / affine parameters and box
    scales (not in the reference), so that a parity test exercises every
    tensor of the state dict. ``head_gain`` scales the box and keypoint
    predictors (keeps random distances in a trained head's range)."""
    g = torch.Generator().manual_seed(seed)
    randomize_modules_(net, g)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, Scale):
                m.scale.fill_(float(torch.rand(1, generator=g)) + 0.5)
        head = net.bbox_head
        for d in (head.stride_reg, getattr(head, 'stride_kps', {})):
            for conv in d.values():
                conv.weight.mul_(head_gain)
                conv.bias.mul_(head_gain)
    return net


def flat_keys(cfg: Dict) -> List[str]:
    """State-dict keys of a reference model (for converter tests)."""
    return list(SCRFDRef(cfg).state_dict())


def nms(boxes, scores, iou_thr):
    """Greedy NMS, areas without +1, suppressing IoU > ``iou_thr`` (mmcv
    ``nms`` as the fork calls it; a 0 / 0 IoU of empty boxes suppresses
    nothing)."""
    order = scores.argsort(descending=True)
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    keep = []
    while order.numel() > 0:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        xx1 = torch.maximum(x1[i], x1[rest])
        yy1 = torch.maximum(y1[i], y1[rest])
        xx2 = torch.minimum(x2[i], x2[rest])
        yy2 = torch.minimum(y2[i], y2[rest])
        inter = (xx2 - xx1).clamp(min=0) * (yy2 - yy1).clamp(min=0)
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[~(iou > iou_thr)]
    return torch.tensor(keep, dtype=torch.long)


def detect(outs,
           img_shape,
           score_thr=0.02,
           iou_thr=0.45,
           scale_factor=(1., 1.)) -> dict:
    """The reference test protocol of one image (``_get_bboxes_single`` +
    ``multiclass_nms`` with ``max_num=-1``): scores > ``score_thr``, boxes
    (and runtime-decoded keypoints) divided by ``scale_factor`` (w, h),
    NMS. Returns numpy ``scores``, ``boxes``, ``kps`` in decreasing
    score."""
    d = decode(outs, img_shape)
    sel = d['scores'] > score_thr
    sx, sy = scale_factor
    boxes = d['boxes'][sel] / torch.tensor([sx, sy, sx, sy])
    scores = d['scores'][sel]
    keep = nms(boxes, scores, iou_thr)
    out = dict(
        scores=scores[keep].numpy(), boxes=boxes[keep].numpy(), kps=None)
    if d['kps'] is not None:
        kps = d['kps'][sel] / torch.tensor([sx, sy] * 5)
        out['kps'] = kps[keep].numpy()
    return out


# ---------------------------------------------------------- augmentation
def _corner(size, side):
    from numpy import random
    if size == side:
        return 0
    if size > side:
        return random.randint(0, size - side)
    return random.randint(size - side, 0)


def random_square_crop(results: dict,
                       crop_choice: Sequence[float],
                       bbox_clip_border: bool = True) -> dict:
    """``RandomSquareCrop.__call__`` of the fork
    (``mmdet/datasets/pipelines/transforms.py``) on its results dict:
    ``img`` (H, W, 3), ``gt_bboxes`` (N, 4), ``gt_bboxes_ignore`` (M, 4),
    ``gt_keypointss`` (N, 5, 3); numpy's global RNG as ``from numpy import
    random``. ``crop_ratio_range`` and masks are left out."""
    import numpy as np
    from numpy import random
    img = results['img']
    boxes = results['gt_bboxes']
    h, w, c = img.shape
    scale_retry = 0
    max_scale = np.amax(crop_choice)
    while True:
        scale_retry += 1
        if scale_retry == 1 or max_scale > 1.0:
            scale = random.choice(crop_choice)
        else:
            scale = scale * 1.2
        for i in range(250):
            short_side = min(w, h)
            cw = int(scale * short_side)
            ch = cw
            left = _corner(w, cw)  # the fork's if/elif/else on w, then h
            top = _corner(h, ch)
            patch = np.array(
                (int(left), int(top), int(left + cw), int(top + ch)),
                dtype=np.int64)

            def is_center_of_bboxes_in_patch(boxes, patch):
                center = (boxes[:, :2] + boxes[:, 2:]) / 2
                return ((center[:, 0] > patch[0]) * (center[:, 1] > patch[1]) *
                        (center[:, 0] < patch[2]) * (center[:, 1] < patch[3]))

            mask = is_center_of_bboxes_in_patch(boxes, patch)
            if not mask.any():
                continue
            for key in ('gt_bboxes', 'gt_bboxes_ignore'):
                boxes = results[key].copy()
                mask = is_center_of_bboxes_in_patch(boxes, patch)
                boxes = boxes[mask]
                if bbox_clip_border:
                    boxes[:, 2:] = boxes[:, 2:].clip(max=patch[2:])
                    boxes[:, :2] = boxes[:, :2].clip(min=patch[:2])
                boxes -= np.tile(patch[:2], 2)
                results[key] = boxes
                if key == 'gt_bboxes':
                    kps = results['gt_keypointss'].copy()[mask, :, :]
                    if bbox_clip_border:
                        kps[:, :, :2] = kps[:, :, :2].clip(max=patch[2:])
                        kps[:, :, :2] = kps[:, :, :2].clip(min=patch[:2])
                    kps[:, :, 0] -= patch[0]
                    kps[:, :, 1] -= patch[1]
                    results['gt_keypointss'] = kps
            rimg = np.ones((ch, cw, 3), dtype=img.dtype) * 128
            patch_from = patch.copy()
            patch_from[0] = max(0, patch_from[0])
            patch_from[1] = max(0, patch_from[1])
            patch_from[2] = min(img.shape[1], patch_from[2])
            patch_from[3] = min(img.shape[0], patch_from[3])
            patch_to = patch.copy()
            patch_to[0] = max(0, patch_to[0] * -1)
            patch_to[1] = max(0, patch_to[1] * -1)
            patch_to[2] = patch_to[0] + (patch_from[2] - patch_from[0])
            patch_to[3] = patch_to[1] + (patch_from[3] - patch_from[1])
            rimg[patch_to[1]:patch_to[3], patch_to[0]:patch_to[2], :] = img[
                patch_from[1]:patch_from[3], patch_from[0]:patch_from[2], :]
            results['img'] = rimg
            results['img_shape'] = rimg.shape
            return results
