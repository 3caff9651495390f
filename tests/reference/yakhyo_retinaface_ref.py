"""A self-contained re-implementation of yakhyo/retinaface-pytorch.

Test-only: the network (``models/retinaface.py``, ``models/common.py``,
``models/backbones/{mobilenetv1,mobilenetv2,resnet}.py``) with the *same
module names*, so ``RetinaFace(cfg).state_dict()`` has the layout of the
project's released ``.pth`` files, its configs (``config.py``), anchors
(``layers/functions/prior_box.py``), decoding and NMS
(``utils/box_utils.py``) and its WIDER Face test recipe
(``evaluate_widerface.py``) for one image.

Differences from the original, none of which changes a number: torchvision
is not needed (``IntermediateLayerGetter`` and the ResNet blocks come from
``retinaface_ref`` and ``scrfd_ref``), no pretrained weights are loaded,
no device handling.
"""
from collections import OrderedDict
from itertools import product
from math import ceil

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .retinaface_ref import Bottleneck, IntermediateLayerGetter, py_cpu_nms
# torchvision's BasicBlock (the keys of yakhyo's resnet.py BasicBlock)
from .scrfd_ref import BasicBlock


def _cfg(name, in_channel, out_channel, return_layers=None):
    return {
        'name': name,
        'min_sizes': [[16, 32], [64, 128], [256, 512]],
        'steps': [8, 16, 32],
        'variance': [0.1, 0.2],
        'clip': False,
        'return_layers': return_layers or {
            'stage1': 1,
            'stage2': 2,
            'stage3': 3
        },
        'in_channel': in_channel,
        'out_channel': out_channel,
    }


_RES = {'layer2': 1, 'layer3': 2, 'layer4': 3}
# config.py (what the network and the anchors read)
CONFIGS = {
    'mnet025': _cfg('mobilenet0.25', 32, 64),
    'mnet050': _cfg('mobilenet0.50', 64, 128),
    'mnet100': _cfg('mobilenet_v1', 128, 128),
    'mnv2': _cfg('mobilenet_v2', 32, 128, [6, 13, 18]),
    'r18': _cfg('resnet18', 64, 128, _RES),
    'r34': _cfg('resnet34', 64, 128, _RES),
    'r50': _cfg('resnet50', 256, 256, _RES),
}


# ---------------------------------------------------------- models/common.py
def _make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):

    def __init__(self,
                 in_channels,
                 out_channels,
                 kernel_size=3,
                 stride=1,
                 padding=None,
                 groups=1,
                 activation_layer=nn.LeakyReLU,
                 negative_slope=None):
        if padding is None:
            padding = (kernel_size - 1) // 2
        layers = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding,
                groups=groups,
                bias=False),
            nn.BatchNorm2d(out_channels)
        ]
        if activation_layer is not None:
            params = {'inplace': True}
            if negative_slope is not None:
                params['negative_slope'] = negative_slope
            layers.append(activation_layer(**params))
        super().__init__(*layers)


class DepthWiseSeparableConv2d(nn.Sequential):

    def __init__(self, in_channels, out_channels, stride):
        super().__init__(
            Conv2dNormActivation(
                in_channels,
                in_channels,
                3,
                stride,
                groups=in_channels,
                negative_slope=0.1),
            Conv2dNormActivation(
                in_channels, out_channels, 1, negative_slope=0.1))


class SSH(nn.Module):

    def __init__(self, in_channel, out_channels):
        super().__init__()
        leaky = 0.1 if out_channels <= 64 else 0
        self.conv3X3 = Conv2dNormActivation(
            in_channel, out_channels // 2, activation_layer=None)
        self.conv5X5_1 = Conv2dNormActivation(
            in_channel, out_channels // 4, negative_slope=leaky)
        self.conv5X5_2 = Conv2dNormActivation(
            out_channels // 4, out_channels // 4, activation_layer=None)
        self.conv7X7_2 = Conv2dNormActivation(
            out_channels // 4, out_channels // 4, negative_slope=leaky)
        self.conv7x7_3 = Conv2dNormActivation(
            out_channels // 4, out_channels // 4, activation_layer=None)

    def forward(self, x):
        conv3X3 = self.conv3X3(x)
        conv5X5 = self.conv5X5_2(self.conv5X5_1(x))
        conv7X7 = self.conv7x7_3(self.conv7X7_2(self.conv5X5_1(x)))
        out = torch.cat([conv3X3, conv5X5, conv7X7], dim=1)
        return F.relu(out, inplace=True)


class FPN(nn.Module):

    def __init__(self, in_channels_list, out_channels):
        super().__init__()
        leaky = 0.1 if out_channels <= 64 else 0
        self.output1 = Conv2dNormActivation(
            in_channels_list[0], out_channels, 1, negative_slope=leaky)
        self.output2 = Conv2dNormActivation(
            in_channels_list[1], out_channels, 1, negative_slope=leaky)
        self.output3 = Conv2dNormActivation(
            in_channels_list[2], out_channels, 1, negative_slope=leaky)
        self.merge1 = Conv2dNormActivation(
            out_channels, out_channels, 3, negative_slope=leaky)
        self.merge2 = Conv2dNormActivation(
            out_channels, out_channels, 3, negative_slope=leaky)

    def forward(self, inputs):
        inputs = list(inputs.values())
        output1 = self.output1(inputs[0])
        output2 = self.output2(inputs[1])
        output3 = self.output3(inputs[2])
        upsample3 = F.interpolate(
            output3, size=output2.shape[2:], mode='nearest')
        output2 = self.merge2(output2 + upsample3)
        upsample2 = F.interpolate(
            output2, size=output1.shape[2:], mode='nearest')
        output1 = self.merge1(output1 + upsample2)
        return [output1, output2, output3]


class IntermediateLayerGetterByIndex(nn.Module):

    def __init__(self, model, indexes=(6, 13, 18)):
        super().__init__()
        self.features = model.features
        self.indexes = indexes

    def forward(self, x):
        outputs = OrderedDict()
        for idx, layer in enumerate(self.features):
            x = layer(x)
            if idx in self.indexes:
                outputs[f'layer_{idx}'] = x
        return outputs


# ------------------------------------------------------- models/backbones/*
class MobileNetV1(nn.Module):

    def __init__(self, width_mult=0.25, num_classes=1000):
        super().__init__()
        f = [
            _make_divisible(c * width_mult)
            for c in [32, 64, 128, 256, 512, 1024]
        ]
        dw = DepthWiseSeparableConv2d
        self.stage1 = nn.Sequential(
            Conv2dNormActivation(3, f[0], 3, 2, negative_slope=0.1),
            dw(f[0], f[1], 1), dw(f[1], f[2], 2), dw(f[2], f[2], 1),
            dw(f[2], f[3], 2), dw(f[3], f[3], 1))
        self.stage2 = nn.Sequential(
            dw(f[3], f[4], 2), *[dw(f[4], f[4], 1) for _ in range(5)])
        self.stage3 = nn.Sequential(dw(f[4], f[5], 2), dw(f[5], f[5], 1))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(f[5], num_classes)


class InvertedResidual(nn.Module):

    def __init__(self, in_planes, out_planes, stride, expand_ratio):
        super().__init__()
        hidden_dim = int(round(in_planes * expand_ratio))
        self.use_res_connect = stride == 1 and in_planes == out_planes
        layers = []
        if expand_ratio != 1:
            layers.append(
                Conv2dNormActivation(
                    in_planes, hidden_dim, 1, activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(
                hidden_dim,
                hidden_dim,
                stride=stride,
                groups=hidden_dim,
                activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, out_planes, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out_planes),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):

    def __init__(self, num_classes=1000):
        super().__init__()
        input_channel = 32
        features = [
            Conv2dNormActivation(
                3, input_channel, stride=2, activation_layer=nn.ReLU6)
        ]
        for t, c, n, s in [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2],
                           [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                           [6, 320, 1, 1]]:
            for i in range(n):
                features.append(
                    InvertedResidual(
                        input_channel, c, s if i == 0 else 1, expand_ratio=t))
                input_channel = c
        features.append(
            Conv2dNormActivation(
                input_channel, 1280, 1, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.2), nn.Linear(1280, num_classes))


class ResNet(nn.Module):

    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.in_channels = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.in_channels != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(
                    self.in_channels,
                    planes * block.expansion,
                    1,
                    stride,
                    bias=False), nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.in_channels, planes, stride, downsample)]
        self.in_channels = planes * block.expansion
        layers += [block(self.in_channels, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)


def build_backbone(name):
    return {
        'mobilenet0.25': lambda: MobileNetV1(0.25),
        'mobilenet0.50': lambda: MobileNetV1(0.5),
        'mobilenet_v1': lambda: MobileNetV1(1.0),
        'mobilenet_v2': MobileNetV2,
        'resnet18': lambda: ResNet(BasicBlock, [2, 2, 2, 2]),
        'resnet34': lambda: ResNet(BasicBlock, [3, 4, 6, 3]),
        'resnet50': lambda: ResNet(Bottleneck, [3, 4, 6, 3]),
    }[name]()


# ------------------------------------------------------- models/retinaface.py
class _Head(nn.Module):

    def __init__(self, attr, k, in_channels, num_anchors=2, fpn_num=3):
        super().__init__()
        self.k = k
        self.attr = attr
        setattr(
            self, attr,
            nn.ModuleList([
                nn.Conv2d(in_channels, num_anchors * k, 1, 1, 0)
                for _ in range(fpn_num)
            ]))

    def forward(self, x):
        outs = [
            layer(f).permute(0, 2, 3, 1).contiguous()
            for f, layer in zip(x, getattr(self, self.attr))
        ]
        return torch.cat([o.view(o.shape[0], -1, self.k) for o in outs], 1)


class ClassHead(_Head):

    def __init__(self, in_channels):
        super().__init__('class_head', 2, in_channels)


class BboxHead(_Head):

    def __init__(self, in_channels):
        super().__init__('bbox_head', 4, in_channels)


class LandmarkHead(_Head):

    def __init__(self, in_channels):
        super().__init__('landmark_head', 10, in_channels)


class RetinaFace(nn.Module):

    def __init__(self, cfg):
        super().__init__()
        backbone = build_backbone(cfg['name'])
        if cfg['name'] == 'mobilenet_v2':
            self.fx = IntermediateLayerGetterByIndex(backbone, [6, 13, 18])
            fpn_in_channels = [32, 96, 1280]
        else:
            self.fx = IntermediateLayerGetter(backbone, cfg['return_layers'])
            c = cfg['in_channel']
            fpn_in_channels = [c * 2, c * 4, c * 8]
        out_channels = cfg['out_channel']
        self.fpn = FPN(fpn_in_channels, out_channels)
        self.ssh1 = SSH(out_channels, out_channels)
        self.ssh2 = SSH(out_channels, out_channels)
        self.ssh3 = SSH(out_channels, out_channels)
        self.class_head = ClassHead(out_channels)
        self.bbox_head = BboxHead(out_channels)
        self.landmark_head = LandmarkHead(out_channels)

    def forward(self, x):
        fpn = self.fpn(self.fx(x))
        features = [self.ssh1(fpn[0]), self.ssh2(fpn[1]), self.ssh3(fpn[2])]
        classifications = self.class_head(features)
        bbox_regressions = self.bbox_head(features)
        landmark_regressions = self.landmark_head(features)
        if self.training:
            return bbox_regressions, classifications, landmark_regressions
        return (bbox_regressions, F.softmax(classifications,
                                            dim=-1), landmark_regressions)


# ------------------------------------------ layers/functions/prior_box.py
def prior_box(cfg, image_size):
    """``PriorBox(cfg, image_size).generate_anchors()`` (normalised)."""
    anchors = []
    for k, step in enumerate(cfg['steps']):
        h, w = ceil(image_size[0] / step), ceil(image_size[1] / step)
        for i, j in product(range(h), range(w)):
            for min_size in cfg['min_sizes'][k]:
                s_kx = min_size / image_size[1]
                s_ky = min_size / image_size[0]
                cx = (j + 0.5) * step / image_size[1]
                cy = (i + 0.5) * step / image_size[0]
                anchors += [cx, cy, s_kx, s_ky]
    return torch.Tensor(anchors).view(-1, 4)


# --------------------------------------------------------- utils/box_utils.py
def decode(loc, priors, variances):
    cxcy = priors[:, :2] + loc[:, :2] * variances[0] * priors[:, 2:]
    wh = priors[:, 2:] * torch.exp(loc[:, 2:] * variances[1])
    boxes = torch.empty_like(loc)
    boxes[:, :2] = cxcy - wh / 2
    boxes[:, 2:] = cxcy + wh / 2
    return boxes


def decode_landmarks(predictions, priors, variances):
    predictions = predictions.view(predictions.size(0), 5, 2)
    landmarks = priors[:, :2].unsqueeze(1) + \
        predictions * variances[0] * priors[:, 2:].unsqueeze(1)
    return landmarks.view(landmarks.size(0), -1)


nms = py_cpu_nms  # the same +1 NMS as biubug6


# --------------------------------------------- evaluate_widerface.py
def resize_image(image, target_size=1600, max_size=2150):
    im_size_min = np.min(image.shape[0:2])
    im_size_max = np.max(image.shape[0:2])
    resize = float(target_size) / float(im_size_min)
    if np.round(resize * im_size_max) > max_size:
        resize = float(max_size) / float(im_size_max)
    return resize


@torch.no_grad()
def evaluate_image(model,
                   img_raw,
                   cfg,
                   origin_size=False,
                   target_size=1600,
                   max_size=2150,
                   conf_threshold=0.02,
                   nms_threshold=0.4):
    """``evaluate_widerface.py`` for one BGR image.

    Returns:
        tuple: per-anchor ``(scores, boxes, landmarks)`` in original image
        pixels (before thresholding), and the kept detections (K, 15)
        ``x1 y1 x2 y2 score l0x ... l4y``.
    """
    model.eval()
    image = np.float32(img_raw)
    resize_factor = 1 if origin_size else resize_image(image, target_size,
                                                       max_size)
    if resize_factor != 1:
        image = cv2.resize(
            image,
            None,
            None,
            fx=resize_factor,
            fy=resize_factor,
            interpolation=cv2.INTER_LINEAR)
    img_height, img_width, _ = image.shape
    image -= (104, 117, 123)
    image = torch.from_numpy(image.transpose(2, 0, 1)).unsqueeze(0)
    loc, conf, landmarks = model(image)
    loc, conf, landmarks = loc[0], conf[0], landmarks[0]
    priors = prior_box(cfg, (img_height, img_width))
    boxes = decode(loc, priors, cfg['variance'])
    landmarks = decode_landmarks(landmarks, priors, cfg['variance'])
    boxes = (boxes * torch.tensor([img_width, img_height] * 2) /
             resize_factor).numpy()
    landmarks = (landmarks * torch.tensor([img_width, img_height] * 5) /
                 resize_factor).numpy()
    scores = conf.numpy()[:, 1]
    per_anchor = (scores.copy(), boxes.copy(), landmarks.copy())
    inds = scores > conf_threshold
    boxes, landmarks, scores = boxes[inds], landmarks[inds], scores[inds]
    order = scores.argsort()[::-1]
    boxes, landmarks, scores = boxes[order], landmarks[order], scores[order]
    detections = np.hstack((boxes, scores[:, np.newaxis])).astype(
        np.float32, copy=False)
    keep = nms(detections, nms_threshold)
    return per_anchor, np.concatenate((detections[keep], landmarks[keep]), 1)
