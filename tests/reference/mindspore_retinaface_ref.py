"""The MindSpore model zoo RetinaFace_ResNet50, re-implemented in PyTorch.

Test-only. ``official/cv/RetinaFace_ResNet50/src/network.py`` (ResNet-50
with ``down_sample_layer`` and a stem that pads the max-pool input by one
zero row and column at the top left, then pools 3x3/2 without padding; FPN;
SSH with ``conv7X7_3``; heads) written with PyTorch modules under the same
cell names, its ``eval.py`` recipe for one image, and a writer of MindSpore
``.ckpt`` files as ``save_checkpoint`` writes them (proto2 wire format,
parameters named as in a training checkpoint: ``network.`` prefix, BatchNorm
``gamma`` / ``beta`` / ``moving_mean`` / ``moving_variance``, SGD state
``accum.*`` / ``stat.*``, ``learning_rate`` and ``global_step``).
"""
from collections import OrderedDict
from itertools import product
from math import ceil

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .retinaface_ref import BboxHead, ClassHead, LandmarkHead, py_cpu_nms


# ------------------------------------------------------------ src/network.py
class ResidualBlock(nn.Module):
    expansion = 4

    def __init__(self, in_channel, out_channel, stride=1):
        super().__init__()
        channel = out_channel // self.expansion
        self.conv1 = nn.Conv2d(in_channel, channel, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channel)
        self.conv2 = nn.Conv2d(channel, channel, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channel)
        self.conv3 = nn.Conv2d(channel, out_channel, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channel)
        self.relu = nn.ReLU()
        self.down_sample = stride != 1 or in_channel != out_channel
        self.down_sample_layer = nn.Sequential(
            nn.Conv2d(in_channel, out_channel, 1, stride, bias=False),
            nn.BatchNorm2d(out_channel)) if self.down_sample else None

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.down_sample:
            identity = self.down_sample_layer(identity)
        return self.relu(out + identity)


class ResNet(nn.Module):

    def __init__(self,
                 layer_nums=(3, 4, 6, 3),
                 in_channels=(64, 256, 512, 1024),
                 out_channels=(256, 512, 1024, 2048),
                 strides=(1, 2, 2, 2),
                 num_classes=1001):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        for i in range(4):
            blocks = [
                ResidualBlock(in_channels[i], out_channels[i], strides[i])
            ]
            blocks += [
                ResidualBlock(out_channels[i], out_channels[i])
                for _ in range(1, layer_nums[i])
            ]
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.end_point = nn.Linear(out_channels[3], num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        # ops.Pad(((0, 0), (0, 0), (1, 0), (1, 0))) + MaxPool2d(3, 2, valid)
        x = F.max_pool2d(F.pad(x, (1, 0, 1, 0)), 3, 2)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return c3, c4, c5


def _conv_bn(cin, cout, k, pad, leaky=None):
    layers = [
        nn.Conv2d(cin, cout, k, 1, pad, bias=False),
        nn.BatchNorm2d(cout)
    ]
    if leaky is not None:
        layers.append(nn.LeakyReLU(leaky))
    return nn.Sequential(*layers)


class SSH(nn.Module):

    def __init__(self, in_channel, out_channel):
        super().__init__()
        leaky = 0.1 if out_channel <= 64 else 0
        self.conv3X3 = _conv_bn(in_channel, out_channel // 2, 3, 1)
        self.conv5X5_1 = _conv_bn(in_channel, out_channel // 4, 3, 1, leaky)
        self.conv5X5_2 = _conv_bn(out_channel // 4, out_channel // 4, 3, 1)
        self.conv7X7_2 = _conv_bn(out_channel // 4, out_channel // 4, 3, 1,
                                  leaky)
        self.conv7X7_3 = _conv_bn(out_channel // 4, out_channel // 4, 3, 1)

    def forward(self, x):
        conv3X3 = self.conv3X3(x)
        conv5X5_1 = self.conv5X5_1(x)
        conv5X5 = self.conv5X5_2(conv5X5_1)
        conv7X7 = self.conv7X7_3(self.conv7X7_2(conv5X5_1))
        return F.relu(torch.cat((conv3X3, conv5X5, conv7X7), 1))


class FPN(nn.Module):

    def __init__(self):
        super().__init__()
        self.output1 = _conv_bn(512, 256, 1, 0, 0)
        self.output2 = _conv_bn(1024, 256, 1, 0, 0)
        self.output3 = _conv_bn(2048, 256, 1, 0, 0)
        self.merge1 = _conv_bn(256, 256, 3, 1, 0)
        self.merge2 = _conv_bn(256, 256, 3, 1, 0)

    def forward(self, input1, input2, input3):
        output1 = self.output1(input1)
        output2 = self.output2(input2)
        output3 = self.output3(input3)
        up3 = F.interpolate(output3, size=output2.shape[2:], mode='nearest')
        output2 = self.merge2(up3 + output2)
        up2 = F.interpolate(output2, size=output1.shape[2:], mode='nearest')
        output1 = self.merge1(up2 + output1)
        return output1, output2, output3


class RetinaFace(nn.Module):

    def __init__(self, phase='predict'):
        super().__init__()
        self.phase = phase
        self.base = ResNet()
        self.fpn = FPN()
        self.ssh1 = SSH(256, 256)
        self.ssh2 = SSH(256, 256)
        self.ssh3 = SSH(256, 256)
        self.ClassHead = nn.ModuleList([ClassHead(256, 2) for _ in range(3)])
        self.BboxHead = nn.ModuleList([BboxHead(256, 2) for _ in range(3)])
        self.LandmarkHead = nn.ModuleList(
            [LandmarkHead(256, 2) for _ in range(3)])

    def forward(self, inputs):
        f1, f2, f3 = self.fpn(*self.base(inputs))
        features = [self.ssh1(f1), self.ssh2(f2), self.ssh3(f3)]
        bbox = torch.cat([h(f) for h, f in zip(self.BboxHead, features)], 1)
        cls = torch.cat([h(f) for h, f in zip(self.ClassHead, features)], 1)
        ldm = torch.cat([h(f) for h, f in zip(self.LandmarkHead, features)], 1)
        if self.phase == 'train':
            return bbox, cls, ldm
        return bbox, F.softmax(cls, -1), ldm


# --------------------------------------------------------------- src/utils.py
def prior_box(image_sizes,
              min_sizes=((16, 32), (64, 128), (256, 512)),
              steps=(8, 16, 32)):
    anchors = []
    for k, step in enumerate(steps):
        fh, fw = ceil(image_sizes[0] / step), ceil(image_sizes[1] / step)
        for i, j in product(range(fh), range(fw)):
            for min_size in min_sizes[k]:
                s_kx = min_size / image_sizes[1]
                s_ky = min_size / image_sizes[0]
                cx = (j + 0.5) * step / image_sizes[1]
                cy = (i + 0.5) * step / image_sizes[0]
                anchors += [cx, cy, s_kx, s_ky]
    return np.asarray(anchors).reshape([-1, 4]).astype(np.float32)


def decode_bbox(bbox, priors, var):
    boxes = np.concatenate(
        (priors[:, 0:2] + bbox[:, 0:2] * var[0] * priors[:, 2:4],
         priors[:, 2:4] * np.exp(bbox[:, 2:4] * var[1])),
        axis=1)
    boxes[:, :2] -= boxes[:, 2:] / 2
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def decode_landm(landm, priors, var):
    return np.concatenate([
        priors[:, 0:2] + landm[:, 2 * i:2 * i + 2] * var[0] * priors[:, 2:4]
        for i in range(5)
    ],
                          axis=1)


# ------------------------------------------------------------------ eval.py
@torch.no_grad()
def eval_image(network,
               img_raw,
               target_size=1600,
               max_size=2176,
               conf_thresh=0.02,
               nms_thresh=0.4):
    """``eval.py`` (``val_origin_size`` False) for one BGR image.

    Returns:
        tuple: per-anchor ``(scores, boxes, landmarks)`` in image pixels
        (eval.py decodes no landmarks; they are decoded here the same way as
        the boxes, ``* scale / resize``), and the kept detections (K, 5)
        ``x1 y1 x2 y2 score`` before eval.py's int conversion.
    """
    network.eval()
    img = np.float32(img_raw)
    im_size_min = np.min(img.shape[0:2])
    im_size_max = np.max(img.shape[0:2])
    resize = float(target_size) / float(im_size_min)
    if np.round(resize * im_size_max) > max_size:
        resize = float(max_size) / float(im_size_max)
    img = cv2.resize(
        img, None, None, fx=resize, fy=resize, interpolation=cv2.INTER_LINEAR)
    assert img.shape[0] <= max_size and img.shape[1] <= max_size
    image_t = np.empty((max_size, max_size, 3), dtype=img.dtype)
    image_t[:, :] = (104.0, 117.0, 123.0)
    image_t[0:img.shape[0], 0:img.shape[1]] = img
    img = image_t
    priors = prior_box((max_size, max_size))
    scale = np.array([img.shape[1], img.shape[0], img.shape[1], img.shape[0]],
                     dtype=img.dtype)
    img -= (104, 117, 123)
    img = torch.from_numpy(np.expand_dims(img.transpose(2, 0, 1), 0))
    boxes, confs, landms = network(img)
    var = [0.1, 0.2]
    boxes = decode_bbox(boxes[0].numpy(), priors, var) * scale / resize
    landms = decode_landm(landms[0].numpy(), priors, var) * \
        np.tile(scale[:2], 5) / resize
    scores = confs[0].numpy()[:, 1]
    per_anchor = (scores.copy(), boxes.copy(), landms.copy())
    inds = np.where(scores > conf_thresh)[0]
    boxes, scores = boxes[inds], scores[inds]
    order = scores.argsort()[::-1]
    boxes, scores = boxes[order], scores[order]
    dets = np.hstack((boxes, scores[:, np.newaxis]))
    dets = dets.astype(np.float32, copy=False)
    keep = py_cpu_nms(dets, nms_thresh)
    return per_anchor, dets[keep, :]


# ----------------------------------------------- mindspore save_checkpoint
_BN = {
    'weight': 'gamma',
    'bias': 'beta',
    'running_mean': 'moving_mean',
    'running_var': 'moving_variance'
}
_TYPES = {
    np.dtype(np.float32): 'Float32',
    np.dtype(np.float16): 'Float16',
    np.dtype(np.int32): 'Int32',
    np.dtype(np.int64): 'Int64'
}
# serialization.py: SLICE_SIZE = 512 * 1024 (KB, compared with nbytes /
# 1024; older releases: 512 * 1024 * 1024 compared with nbytes), i.e.
# values over 512 MiB are sliced: none of RetinaFace's
SLICE_BYTES = 512 * 1024 * 1024


def mindspore_parameters(net, prefix='network.'):
    """``{name: array}`` of ``net`` under MindSpore's parameter names (the
    cell path, BatchNorm gamma/beta/moving_mean/moving_variance; MindSpore
    BatchNorm has no num_batches_tracked)."""
    bn_names = {
        name
        for name, m in net.named_modules() if isinstance(m, nn.BatchNorm2d)
    }
    out = OrderedDict()
    for key, value in net.state_dict().items():
        module, _, param = key.rpartition('.')
        if module in bn_names:
            if param == 'num_batches_tracked':
                continue
            param = _BN[param]
        out[f'{prefix}{module}.{param}'] = value.numpy()
    return out


def training_checkpoint(net, steps=536, seed=0):
    """What ModelCheckpoint saves for ``TrainingWrapper(RetinaFaceWith
    LossCell(net), SGD)``: the parameters under ``network.``, SGD's
    ``accum.*`` (momentum) and ``stat.*`` for every trainable parameter, the
    dynamic learning rate array and the global step."""
    params = mindspore_parameters(net)
    rng = np.random.RandomState(seed)
    out = OrderedDict(params)
    for name, value in params.items():
        if not name.endswith(('moving_mean', 'moving_variance')):
            out['accum.' + name] = rng.randn(*value.shape).astype(np.float32)
            out['stat.' + name] = np.ones(value.shape, np.float32)
    out['learning_rate'] = np.linspace(0.01, 1e-4, steps).astype(np.float32)
    out['global_step'] = np.array(steps * 100, np.int32)
    return out


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, payload):
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def write_checkpoint(params, path, crc_check=False, slice_bytes=SLICE_BYTES):
    """Write ``{name: array}`` as ``mindspore.save_checkpoint`` does: one
    serialised ``Checkpoint`` message per value, tensors over
    ``slice_bytes`` (MindSpore's 512 MiB; a smaller value makes a synthetic
    file whose slices small tensors exercise) split along axis 0 into
    several values with the same tag and full dims, a 0-d array saved with
    ``dims == [0]``, proto2 (unpacked) dims, and with ``crc_check`` the
    ``crc_num`` trailer."""
    import zlib
    chunks = []
    for name, value in params.items():
        value = np.ascontiguousarray(value)
        dims = list(value.shape) or [0]
        tensor_type = _TYPES[value.dtype]
        pieces = [value]
        if value.nbytes > slice_bytes:
            pieces = np.array_split(value,
                                    int(np.ceil(value.nbytes / slice_bytes)))
        for piece in pieces:
            tensor = b''.join(_varint(1 << 3) + _varint(d) for d in dims)
            tensor += _field(2, tensor_type.encode())
            tensor += _field(3, np.ascontiguousarray(piece).tobytes())
            value_msg = _field(1, name.encode()) + _field(2, tensor)
            chunks.append(_field(1, value_msg))
    data = b''.join(chunks)
    if crc_check:
        data += b'crc_num' + zlib.crc32(data).to_bytes(10, 'big')
    with open(path, 'wb') as f:
        f.write(data)
