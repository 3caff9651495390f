"""Reference S3FD (yxlijun/S3FD.pytorch) restated for the parity tests.

The network, prior boxes, box coding, the scale-compensation ``match``, the
``MultiBoxLoss`` with 3:1 hard negative mining, the test-time ``Detect``
(NMS 0.3, top 750, score > 0.05) and the published ``bbox_vote`` follow the
reference code line by line; only dead PyTorch 0.3 idioms (``Variable``,
``volatile``, ``size_average``, ``1 - bool_tensor``) are written the way
current PyTorch spells them, and the compensation-stage sort is made stable
(see ``match``). Module names are those of the reference, so
``S3FDRef().state_dict()`` has the reference key layout:
``vgg.N``, ``L2Norm3_3.weight``, ``L2Norm4_3.weight``, ``L2Norm5_3.weight``,
``extras.0..3``, ``loc.0..5``, ``conf.0..5``.

Nothing here is imported by the package; tests only.
"""
from itertools import product

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.init as init

# ---------------------------------------------------------------- config ----
ANCHOR_SIZES = [16, 32, 64, 128, 256, 512]
STEPS = [4, 8, 16, 32, 64, 128]
VARIANCE = [0.1, 0.2]
CLIP = False
NUM_CLASSES = 2
OVERLAP_THRESH = [0.1, 0.35, 0.5]
NEG_POS_RATIOS = 3
NMS_THRESH = 0.3
NMS_TOP_K = 5000
TOP_K = 750
CONF_THRESH = 0.05

VGG_CFG = [
    64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'C', 512, 512, 512, 'M', 512,
    512, 512, 'M'
]
EXTRAS_CFG = [256, 'S', 512, 128, 'S', 256]


# ----------------------------------------------------------------- layers ---
class L2Norm(nn.Module):

    def __init__(self, n_channels, scale):
        super().__init__()
        self.n_channels = n_channels
        self.gamma = scale or None
        self.eps = 1e-10
        self.weight = nn.Parameter(torch.Tensor(self.n_channels))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.gamma)

    def forward(self, x):
        norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + self.eps
        x = torch.div(x, norm)
        out = self.weight.unsqueeze(0).unsqueeze(2).unsqueeze(3).expand_as(
            x) * x
        return out


def vgg(cfg, i, batch_norm=False):
    layers = []
    in_channels = i
    for v in cfg:
        if v == 'M':
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        elif v == 'C':
            layers += [nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    conv6 = nn.Conv2d(512, 1024, kernel_size=3, padding=6, dilation=6)
    conv7 = nn.Conv2d(1024, 1024, kernel_size=1)
    layers += [conv6, nn.ReLU(inplace=True), conv7, nn.ReLU(inplace=True)]
    return layers


def add_extras(cfg, i, batch_norm=False):
    layers = []
    in_channels = i
    flag = False
    for k, v in enumerate(cfg):
        if in_channels != 'S':
            if v == 'S':
                layers += [
                    nn.Conv2d(
                        in_channels,
                        cfg[k + 1],
                        kernel_size=(1, 3)[flag],
                        stride=2,
                        padding=1)
                ]
            else:
                layers += [nn.Conv2d(in_channels, v, kernel_size=(1, 3)[flag])]
            flag = not flag
        in_channels = v
    return layers


def multibox(vgg_layers, extra_layers, num_classes):
    loc_layers = []
    conf_layers = []
    vgg_source = [21, 28, -2]
    loc_layers += [
        nn.Conv2d(vgg_layers[14].out_channels, 4, kernel_size=3, padding=1)
    ]
    conf_layers += [
        nn.Conv2d(
            vgg_layers[14].out_channels,
            3 + (num_classes - 1),
            kernel_size=3,
            padding=1)
    ]
    for v in vgg_source:
        loc_layers += [
            nn.Conv2d(vgg_layers[v].out_channels, 4, kernel_size=3, padding=1)
        ]
        conf_layers += [
            nn.Conv2d(
                vgg_layers[v].out_channels,
                num_classes,
                kernel_size=3,
                padding=1)
        ]
    for v in extra_layers[1::2]:
        loc_layers += [nn.Conv2d(v.out_channels, 4, kernel_size=3, padding=1)]
        conf_layers += [
            nn.Conv2d(v.out_channels, num_classes, kernel_size=3, padding=1)
        ]
    return vgg_layers, extra_layers, (loc_layers, conf_layers)


# ------------------------------------------------------------ box utils ----
def point_form(boxes):
    return torch.cat(
        (boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2), 1)


def intersect(box_a, box_b):
    A = box_a.size(0)
    B = box_b.size(0)
    max_xy = torch.min(box_a[:, 2:].unsqueeze(1).expand(A, B, 2),
                       box_b[:, 2:].unsqueeze(0).expand(A, B, 2))
    min_xy = torch.max(box_a[:, :2].unsqueeze(1).expand(A, B, 2),
                       box_b[:, :2].unsqueeze(0).expand(A, B, 2))
    inter = torch.clamp((max_xy - min_xy), min=0)
    return inter[:, :, 0] * inter[:, :, 1]


def jaccard(box_a, box_b):
    inter = intersect(box_a, box_b)
    area_a = ((box_a[:, 2] - box_a[:, 0]) *
              (box_a[:, 3] - box_a[:, 1])).unsqueeze(1).expand_as(inter)
    area_b = ((box_b[:, 2] - box_b[:, 0]) *
              (box_b[:, 3] - box_b[:, 1])).unsqueeze(0).expand_as(inter)
    union = area_a + area_b - inter
    return inter / union


def encode(matched, priors, variances):
    g_cxcy = (matched[:, :2] + matched[:, 2:]) / 2 - priors[:, :2]
    g_cxcy /= (variances[0] * priors[:, 2:])
    g_wh = (matched[:, 2:] - matched[:, :2]) / priors[:, 2:]
    g_wh = torch.log(g_wh) / variances[1]
    return torch.cat([g_cxcy, g_wh], 1)


def decode(loc, priors, variances):
    boxes = torch.cat(
        (priors[:, :2] + loc[:, :2] * variances[0] * priors[:, 2:],
         priors[:, 2:] * torch.exp(loc[:, 2:] * variances[1])), 1)
    boxes[:, :2] -= boxes[:, 2:] / 2
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def log_sum_exp(x):
    x_max = x.data.max()
    return torch.log(torch.sum(torch.exp(x - x_max), 1, keepdim=True)) + x_max


def match(threshold, truths, priors, variances, labels, loc_t, conf_t, idx):
    """The S3FD matching with scale compensation (``layers/bbox_utils.py``).

    Besides filling ``loc_t``/``conf_t`` like the reference, returns a dict
    with the intermediate values the unit tests look at.
    """
    overlaps = jaccard(truths, point_form(priors))
    best_prior_overlap, best_prior_idx = overlaps.max(1, keepdim=True)
    best_truth_overlap, best_truth_idx = overlaps.max(0, keepdim=True)
    best_truth_idx.squeeze_(0)
    best_truth_overlap.squeeze_(0)
    best_prior_idx.squeeze_(1)
    best_prior_overlap.squeeze_(1)
    best_truth_overlap.index_fill_(0, best_prior_idx, 2)
    for j in range(best_prior_idx.size(0)):
        best_truth_idx[best_prior_idx[j]] = j
    _th1, _th2, _th3 = threshold

    N = (torch.sum(best_prior_overlap >= _th2) +
         torch.sum(best_prior_overlap >= _th3)) // 2
    matches = truths[best_truth_idx]
    conf = labels[best_truth_idx].clone()
    conf[best_truth_overlap < _th2] = 0

    best_truth_overlap_clone = best_truth_overlap.clone()
    add_idx = best_truth_overlap_clone.gt(_th1).eq(
        best_truth_overlap_clone.lt(_th2))
    best_truth_overlap_clone[~add_idx] = 0
    # The reference calls ``sort(descending=True)``, whose order among equal
    # IoUs is undefined (it differs between CPU array sizes and CUDA). Equal
    # IoUs are common here: every anchor lying inside a face has IoU
    # anchor_area / face_area. ``stable=True`` fixes the order (lower anchor
    # index first), the one S3FDAssigner uses; without ties both agree.
    stage2_overlap, stage2_idx = best_truth_overlap_clone.sort(
        descending=True, stable=True)
    stage2_overlap = stage2_overlap.gt(_th1)

    n_comp = int(N)
    if N > 0:
        N = torch.sum(stage2_overlap[:N]) if torch.sum(
            stage2_overlap[:N]) < N else N
        conf[stage2_idx[:N]] += 1
        n_comp = int(N)

    loc = encode(matches, priors, variances)
    loc_t[idx] = loc
    conf_t[idx] = conf
    return dict(
        best_truth_idx=best_truth_idx,
        best_truth_overlap=best_truth_overlap,
        conf=conf,
        num_comp=n_comp,
        stage2_idx=stage2_idx)


def nms(boxes, scores, overlap=0.5, top_k=200):
    keep = scores.new(scores.size(0)).zero_().long()
    if boxes.numel() == 0:
        return keep, 0
    x1 = boxes[:, 0]
    y1 = boxes[:, 1]
    x2 = boxes[:, 2]
    y2 = boxes[:, 3]
    area = torch.mul(x2 - x1, y2 - y1)
    v, idx = scores.sort(0)
    idx = idx[-top_k:]
    count = 0
    while idx.numel() > 0:
        i = idx[-1]
        keep[count] = i
        count += 1
        if idx.size(0) == 1:
            break
        idx = idx[:-1]
        xx1 = torch.index_select(x1, 0, idx)
        yy1 = torch.index_select(y1, 0, idx)
        xx2 = torch.index_select(x2, 0, idx)
        yy2 = torch.index_select(y2, 0, idx)
        xx1 = torch.clamp(xx1, min=x1[i])
        yy1 = torch.clamp(yy1, min=y1[i])
        xx2 = torch.clamp(xx2, max=x2[i])
        yy2 = torch.clamp(yy2, max=y2[i])
        w = torch.clamp(xx2 - xx1, min=0.0)
        h = torch.clamp(yy2 - yy1, min=0.0)
        inter = w * h
        rem_areas = torch.index_select(area, 0, idx)
        union = (rem_areas - inter) + area[i]
        IoU = inter / union
        idx = idx[IoU.le(overlap)]
    return keep, count


# ------------------------------------------------------------- PriorBox ----
class PriorBox:
    """Priors in normalised centre-size form from the actual feature maps."""

    def __init__(self, input_size, feature_maps):
        self.imh = input_size[0]
        self.imw = input_size[1]
        self.variance = VARIANCE
        self.min_sizes = ANCHOR_SIZES
        self.steps = STEPS
        self.clip = CLIP
        self.feature_maps = feature_maps

    def forward(self):
        mean = []
        for k in range(len(self.feature_maps)):
            feath = self.feature_maps[k][0]
            featw = self.feature_maps[k][1]
            for i, j in product(range(feath), range(featw)):
                f_kw = self.imw / self.steps[k]
                f_kh = self.imh / self.steps[k]
                cx = (j + 0.5) / f_kw
                cy = (i + 0.5) / f_kh
                s_kw = self.min_sizes[k] / self.imw
                s_kh = self.min_sizes[k] / self.imh
                mean += [cx, cy, s_kw, s_kh]
        output = torch.Tensor(mean).view(-1, 4)
        if self.clip:
            output.clamp_(max=1, min=0)
        return output


# -------------------------------------------------------------- Detect -----
class Detect:

    def __init__(self):
        self.num_classes = NUM_CLASSES
        self.top_k = TOP_K
        self.nms_thresh = NMS_THRESH
        self.conf_thresh = CONF_THRESH
        self.variance = VARIANCE
        self.nms_top_k = NMS_TOP_K

    def forward(self, loc_data, conf_data, prior_data):
        num = loc_data.size(0)
        num_priors = prior_data.size(0)
        conf_preds = conf_data.view(num, num_priors,
                                    self.num_classes).transpose(2, 1)
        batch_priors = prior_data.view(-1, num_priors,
                                       4).expand(num, num_priors, 4)
        batch_priors = batch_priors.contiguous().view(-1, 4)
        decoded_boxes = decode(
            loc_data.view(-1, 4), batch_priors, self.variance)
        decoded_boxes = decoded_boxes.view(num, num_priors, 4)
        output = torch.zeros(num, self.num_classes, self.top_k, 5)
        for i in range(num):
            boxes = decoded_boxes[i].clone()
            conf_scores = conf_preds[i].clone()
            for cl in range(1, self.num_classes):
                c_mask = conf_scores[cl].gt(self.conf_thresh)
                scores = conf_scores[cl][c_mask]
                if scores.numel() == 0:
                    continue
                l_mask = c_mask.unsqueeze(1).expand_as(boxes)
                boxes_ = boxes[l_mask].view(-1, 4)
                ids, count = nms(boxes_, scores, self.nms_thresh,
                                 self.nms_top_k)
                count = count if count < self.top_k else self.top_k
                output[i, cl, :count] = torch.cat(
                    (scores[ids[:count]].unsqueeze(1), boxes_[ids[:count]]), 1)
        return output


# ------------------------------------------------------------- network -----
class S3FDRef(nn.Module):
    """The reference S3FD; ``phase='train'`` returns ``(loc, conf, priors)``,
    ``phase='test'`` the ``Detect`` output ``(B, 2, 750, 5)`` (score, x1, y1,
    x2, y2 normalised by the input width/height)."""

    def __init__(self, phase='train', num_classes=NUM_CLASSES):
        super().__init__()
        base, extras, head = multibox(
            vgg(VGG_CFG, 3), add_extras(EXTRAS_CFG, 1024), num_classes)
        self.phase = phase
        self.num_classes = num_classes
        self.vgg = nn.ModuleList(base)
        self.L2Norm3_3 = L2Norm(256, 10)
        self.L2Norm4_3 = L2Norm(512, 8)
        self.L2Norm5_3 = L2Norm(512, 5)
        self.extras = nn.ModuleList(extras)
        self.loc = nn.ModuleList(head[0])
        self.conf = nn.ModuleList(head[1])
        self.softmax = nn.Softmax(dim=-1)
        self.detect = Detect()

    def forward(self, x):
        size = x.size()[2:]
        sources = list()
        loc = list()
        conf = list()
        for k in range(16):
            x = self.vgg[k](x)
        s = self.L2Norm3_3(x)
        sources.append(s)
        for k in range(16, 23):
            x = self.vgg[k](x)
        s = self.L2Norm4_3(x)
        sources.append(s)
        for k in range(23, 30):
            x = self.vgg[k](x)
        s = self.L2Norm5_3(x)
        sources.append(s)
        for k in range(30, len(self.vgg)):
            x = self.vgg[k](x)
        sources.append(x)
        for k, v in enumerate(self.extras):
            x = F.relu(v(x), inplace=True)
            if k % 2 == 1:
                sources.append(x)

        loc_x = self.loc[0](sources[0])
        conf_x = self.conf[0](sources[0])
        max_conf, _ = torch.max(conf_x[:, 0:3, :, :], dim=1, keepdim=True)
        conf_x = torch.cat((max_conf, conf_x[:, 3:, :, :]), dim=1)
        loc.append(loc_x.permute(0, 2, 3, 1).contiguous())
        conf.append(conf_x.permute(0, 2, 3, 1).contiguous())
        for i in range(1, len(sources)):
            x = sources[i]
            conf.append(self.conf[i](x).permute(0, 2, 3, 1).contiguous())
            loc.append(self.loc[i](x).permute(0, 2, 3, 1).contiguous())

        features_maps = []
        for i in range(len(loc)):
            features_maps += [[loc[i].size(1), loc[i].size(2)]]
        self.priorbox = PriorBox(size, features_maps)
        self.priors = self.priorbox.forward()

        loc = torch.cat([o.view(o.size(0), -1) for o in loc], 1)
        conf = torch.cat([o.view(o.size(0), -1) for o in conf], 1)
        if self.phase == 'test':
            return self.detect.forward(
                loc.view(loc.size(0), -1, 4),
                self.softmax(conf.view(conf.size(0), -1, self.num_classes)),
                self.priors.type(type(x.data)))
        return (loc.view(loc.size(0), -1,
                         4), conf.view(conf.size(0), -1,
                                       self.num_classes), self.priors)


# ---------------------------------------------------------------- loss -----
class MultiBoxLoss(nn.Module):
    """``layers/modules/multibox_loss.py`` with ``dataset='face'``.

    ``targets``: list of ``(n_i, 5)`` tensors ``x1, y1, x2, y2, label``
    (normalised coordinates, label 1 = face), as the reference data loader
    gives them.
    """

    def __init__(self):
        super().__init__()
        self.num_classes = NUM_CLASSES
        self.negpos_ratio = NEG_POS_RATIOS
        self.variance = VARIANCE
        self.threshold = OVERLAP_THRESH
        self.match = match

    def forward(self, predictions, targets):
        loc_data, conf_data, priors = predictions
        num = loc_data.size(0)
        priors = priors[:loc_data.size(1), :]
        num_priors = (priors.size(0))

        loc_t = torch.Tensor(num, num_priors, 4)
        conf_t = torch.LongTensor(num, num_priors)
        for idx in range(num):
            truths = targets[idx][:, :-1].data
            labels = targets[idx][:, -1].data.long()
            defaults = priors.data
            self.match(self.threshold, truths, defaults, self.variance, labels,
                       loc_t, conf_t, idx)

        pos = conf_t > 0
        pos_idx = pos.unsqueeze(pos.dim()).expand_as(loc_data)
        loc_p = loc_data[pos_idx].view(-1, 4)
        loc_t = loc_t[pos_idx].view(-1, 4)
        loss_l = F.smooth_l1_loss(loc_p, loc_t, reduction='sum')

        batch_conf = conf_data.view(-1, self.num_classes)
        loss_c = log_sum_exp(batch_conf) - batch_conf.gather(
            1, conf_t.view(-1, 1))

        loss_c[pos.view(-1, 1)] = 0
        loss_c = loss_c.view(num, -1)
        _, loss_idx = loss_c.sort(1, descending=True)
        _, idx_rank = loss_idx.sort(1)
        num_pos = pos.long().sum(1, keepdim=True)
        num_neg = torch.clamp(self.negpos_ratio * num_pos, max=pos.size(1) - 1)
        neg = idx_rank < num_neg.expand_as(idx_rank)

        pos_idx = pos.unsqueeze(2).expand_as(conf_data)
        neg_idx = neg.unsqueeze(2).expand_as(conf_data)
        conf_p = conf_data[(pos_idx + neg_idx).gt(0)].view(
            -1, self.num_classes)
        targets_weighted = conf_t[(pos + neg).gt(0)]
        loss_c = F.cross_entropy(conf_p, targets_weighted, reduction='sum')

        N = num_pos.data.sum() if num_pos.data.sum() > 0 else num
        loss_l /= N
        loss_c /= N
        return loss_l, loss_c


# ------------------------------------------------------- test protocol -----
def bbox_vote(det):
    """``bbox_vote`` of ``tools/wider_test.py`` / ``sfd_test_code``: rows
    ``x1, y1, x2, y2, score``; clusters with IoU >= 0.3 (+1 areas) around the
    best remaining box are replaced by their score-weighted mean box with the
    cluster's max score; single-box clusters are dropped; top 750 kept."""
    order = det[:, 4].ravel().argsort()[::-1]
    det = det[order, :]
    dets = None
    while det.shape[0] > 0:
        area = (det[:, 2] - det[:, 0] + 1) * (det[:, 3] - det[:, 1] + 1)
        xx1 = np.maximum(det[0, 0], det[:, 0])
        yy1 = np.maximum(det[0, 1], det[:, 1])
        xx2 = np.minimum(det[0, 2], det[:, 2])
        yy2 = np.minimum(det[0, 3], det[:, 3])
        w = np.maximum(0.0, xx2 - xx1 + 1)
        h = np.maximum(0.0, yy2 - yy1 + 1)
        inter = w * h
        o = inter / (area[0] + area[:] - inter)
        merge_index = np.where(o >= 0.3)[0]
        det_accu = det[merge_index, :]
        det = np.delete(det, merge_index, 0)
        if merge_index.shape[0] <= 1:
            continue
        det_accu[:, 0:4] = det_accu[:, 0:4] * np.tile(det_accu[:, -1:], (1, 4))
        max_score = np.max(det_accu[:, 4])
        det_accu_sum = np.zeros((1, 5))
        det_accu_sum[:, 0:4] = np.sum(
            det_accu[:, 0:4], axis=0) / np.sum(det_accu[:, -1:])
        det_accu_sum[:, 4] = max_score
        dets = det_accu_sum if dets is None else np.vstack(
            (dets, det_accu_sum))
    if dets is None:
        return np.zeros((0, 5))
    return dets[0:750, :]
