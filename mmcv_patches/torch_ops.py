"""Pure-torch versions of the compiled mmcv ops this project reaches.

Each public function takes the arguments of the ``mmcv._ext`` function of
the same name and computes what mmcv's CPU kernel computes, with tensor ops
that run on any device (CUDA, NPU, MPS, CPU): :mod:`mmcv_patches.ops` calls
them where mmcv has no kernel for a tensor's device (a CPU-ops-only mmcv
build on a GPU, an NPU without mmcv's NPU ops, mmcv-lite).

* :func:`nms`: greedy NMS, ``offset`` 0 or 1 (``x2 - x1 + offset`` widths,
  the +1 pixel convention of the reference detectors), suppression when
  ``IoU > iou_threshold`` in float32, candidates in the order of
  ``scores.sort(0, descending=True)`` -- the same torch call as mmcv's
  kernel, so on CPU the kept indices equal mmcv's bit for bit, ties
  included.
* :func:`grouped_nms`: the same greedy NMS in independent groups (boxes of
  different groups never suppress each other) for all groups at once:
  per-image NMS of a whole batch in one call; ties broken by index.
* :func:`sigmoid_focal_loss_forward` / :func:`sigmoid_focal_loss_backward`:
  the elementwise formulas of mmcv's sigmoid focal-loss kernels (mmcv has
  them for CUDA/MLU/NPU only; mmdet's ``FocalLoss`` calls them for CUDA
  tensors).

The greedy NMS is exact, not an approximation (no "fast NMS"): boxes are
taken in blocks in score order; a block's boxes overlapping a box kept in an
earlier block are dropped, and inside the block the keep flags are the
solution of ``keep[j] = alive[j] and not any(keep[i] and overlap[i, j]
for i < j)``, a triangular system with one solution, reached by iterating
it from ``keep = alive`` (each iteration fixes at least the next box, in
practice a handful of iterations resolve a block).
"""
import math
from typing import Tuple

import torch
from torch import Tensor

__all__ = [
    'nms', 'grouped_nms', 'sigmoid_focal_loss_forward',
    'sigmoid_focal_loss_backward', 'TORCH_OPS'
]

#: smallest normal float32, the clamp of mmcv's focal-loss kernels
FLT_MIN = 1.1754943508222875e-38
#: elements of one pairwise-overlap tile (groups x rows x columns)
_TILE_ELEMS = 1 << 22
#: largest block of boxes resolved at once
_MAX_BLOCK = 512


def _float32_scalar(value: float) -> float:
    """``value`` rounded to float32, as a C++ ``float`` parameter."""
    return float(torch.tensor(float(value), dtype=torch.float32))


def _compute_dtype(boxes: Tensor) -> torch.dtype:
    # mmcv's kernels read float32; float64 stays float64
    return torch.float64 if boxes.dtype == torch.float64 else torch.float32


def _overlap(a: Tensor, b: Tensor, offset: int, thr: float) -> Tensor:
    """``IoU > thr`` of every box of ``a`` with every box of ``b`` of the
    same group.

    Args:
        a (Tensor): (5, G, P) x1, y1, x2, y2, area (contiguous).
        b (Tensor): (5, G, Q) likewise.

    Returns:
        Tensor: (G, P, Q) bool. The float operations and their order are
        those of mmcv's CPU kernel (``max(0, xx2 - xx1 + offset)``, ``inter
        / (area_i + area_j - inter)``), so each decision equals the
        kernel's (a box with a NaN coordinate neither suppresses nor is
        suppressed, in both).
    """
    ax1, ay1, ax2, ay2, aarea = a[:, :, :, None]
    bx1, by1, bx2, by2, barea = b[:, :, None, :]
    w = torch.minimum(ax2, bx2).sub_(torch.maximum(ax1, bx1))
    w = w.add_(offset).clamp_min_(0)
    h = torch.minimum(ay2, by2).sub_(torch.maximum(ay1, by1))
    h = h.add_(offset).clamp_min_(0)
    inter = w.mul_(h)
    union = (aarea + barea).sub_(inter)
    return inter.div_(union) > thr


def _greedy_keep(boxes: Tensor, valid: Tensor, iou_threshold: float,
                 offset: int) -> Tensor:
    """Greedy NMS of padded groups.

    Args:
        boxes (Tensor): (G, M, 4) x1y1x2y2, each group in processing order.
        valid (Tensor): (G, M) bool, False for padding.
        iou_threshold (float): Suppress when IoU > this (float32).
        offset (int): 0 or 1, added to widths and heights.

    Returns:
        Tensor: (G, M) bool keep flags.
    """
    num_groups, m = valid.shape
    device = boxes.device
    dtype = _compute_dtype(boxes)
    x1, y1, x2, y2 = boxes.to(dtype).unbind(-1)
    coords = torch.stack([x1, y1, x2, y2, (x2 - x1 + offset) *
                          (y2 - y1 + offset)])  # (5, G, M)
    thr = _float32_scalar(iou_threshold)
    block = int(math.sqrt(_TILE_ELEMS / max(num_groups, 1)))
    block = max(32, min(m, _MAX_BLOCK, block))
    upper = torch.ones(
        block, block, dtype=torch.bool, device=device).triu(1)
    keep = torch.zeros_like(valid)
    # the kept boxes so far, packed per group
    kept = coords.new_zeros(coords.shape)
    num_kept = torch.zeros(num_groups, dtype=torch.long, device=device)
    for s in range(0, m, block):
        e = min(m, s + block)
        cur = coords[:, :, s:e].contiguous()
        alive = valid[:, s:e].clone()
        if s > 0:  # drop boxes overlapping a box kept in earlier blocks
            most = int(num_kept.max())
            step = max(1, _TILE_ELEMS // (num_groups * (e - s)))
            for c in range(0, most, step):
                prev = kept[:, :, c:c + step].contiguous()
                is_kept = torch.arange(
                    c, c + prev.size(2), device=device) < num_kept[:, None]
                hit = _overlap(prev, cur, offset, thr) & is_kept[:, :, None]
                alive &= ~hit.any(1)
        # inside the block: iterate keep = alive & not suppressed by keep
        sup = _overlap(cur, cur, offset, thr) & upper[:e - s, :e - s]
        k = alive
        while True:
            new = alive & ~(sup & k[:, :, None]).any(1)
            if torch.equal(new, k):
                break
            k = new
        keep[:, s:e] = k
        if e == m:
            break
        g, j = k.nonzero(as_tuple=True)
        pos = num_kept[:, None] + k.long().cumsum(1) - 1
        kept[:, g, pos[g, j]] = cur[:, g, j]
        num_kept += k.sum(1)
    return keep


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float,
        offset: int = 0) -> Tensor:
    """``mmcv._ext.nms``: indices of the kept boxes, by descending score.

    Args:
        boxes (Tensor): (N, 4) x1y1x2y2 (computed in float32; float64 in
            float64).
        scores (Tensor): (N, ).
        iou_threshold (float): Suppress a box whose IoU with a kept,
            higher-scoring box is > this.
        offset (int): 0, or 1 for ``x2 - x1 + 1`` widths.

    Returns:
        Tensor: (K, ) int64 indices on the boxes' device.
    """
    if boxes.numel() == 0:
        return boxes.new_empty((0, ), dtype=torch.long)
    # the same (unstable) sort call as mmcv's kernel: same order of ties
    order = scores.sort(0, descending=True)[1]
    keep = _greedy_keep(boxes[order][None], order.new_ones(
        (1, order.numel()), dtype=torch.bool), iou_threshold, offset)[0]
    return order[keep]


def grouped_nms(boxes: Tensor, scores: Tensor, groups: Tensor,
                iou_threshold: float, offset: int = 0) -> Tensor:
    """Greedy NMS inside each group, all groups in one call.

    Within a group the result is :func:`nms` of the group's boxes with ties
    of equal scores broken by index (a stable sort); boxes of different
    groups never suppress each other (no coordinate offsets, so no
    rounding of shifted coordinates).

    Args:
        boxes (Tensor): (N, 4) x1y1x2y2.
        scores (Tensor): (N, ).
        groups (Tensor): (N, ) integer group of each box (e.g. the image
            index of a batch).
        iou_threshold (float): IoU above which a box is suppressed.
        offset (int): 0 or 1, added to widths and heights.

    Returns:
        Tensor: (K, ) int64 indices of the kept boxes, sorted by group,
        then by descending score, then by index.
    """
    n = boxes.size(0)
    if n == 0:
        return boxes.new_empty((0, ), dtype=torch.long)
    order = scores.sort(dim=0, descending=True, stable=True)[1]
    order = order[groups[order].sort(dim=0, stable=True)[1]]
    g = groups[order]
    _, counts = torch.unique_consecutive(g, return_counts=True)
    num_groups = counts.numel()
    gid = torch.repeat_interleave(
        torch.arange(num_groups, device=boxes.device), counts)
    starts = counts.cumsum(0) - counts
    pos = torch.arange(n, device=boxes.device) - starts[gid]
    m = int(counts.max())
    padded = boxes.new_zeros((num_groups, m, 4))
    padded[gid, pos] = boxes[order]
    valid = torch.zeros((num_groups, m), dtype=torch.bool,
                        device=boxes.device)
    valid[gid, pos] = True
    keep = _greedy_keep(padded, valid, iou_threshold, offset)
    return order[keep[gid, pos]]


# ------------------------------------------------------------ focal loss
def _focal_terms(input: Tensor, target: Tensor, gamma: float, alpha: float,
                 grad: bool) -> Tensor:
    num_classes = input.size(1)
    gamma = _float32_scalar(gamma)
    alpha = _float32_scalar(alpha)
    one_minus_alpha = _float32_scalar(
        torch.tensor(1., dtype=torch.float32) -
        torch.tensor(alpha, dtype=torch.float32))
    p = 1. / (1. + torch.exp(-input))
    log_p = torch.log(p.clamp(min=FLT_MIN))
    log_1mp = torch.log((1. - p).clamp(min=FLT_MIN))
    if grad:
        # (1-p)^g (1 - p - g p log p) ; p^g (g (1-p) log(1-p) - p)
        term_p = (1. - p).pow(gamma) * (1. - p - gamma * p * log_p)
        term_n = p.pow(gamma) * (gamma * (1. - p) * log_1mp - p)
    else:
        term_p = (1. - p).pow(gamma) * log_p
        term_n = p.pow(gamma) * log_1mp
    is_pos = target[:, None] == torch.arange(
        num_classes, device=input.device)
    return torch.where(is_pos, term_p * -alpha, term_n * -one_minus_alpha)


def _apply_class_weight(out: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    if weight is None or weight.numel() == 0:
        return out
    if bool((target >= weight.numel()).any()):
        raise ValueError(
            'sigmoid focal loss with a per-class weight: a target equal to '
            'num_classes (background) has no weight (mmcv\'s kernel reads '
            'past the weight there)')
    return out * weight[target][:, None]


def sigmoid_focal_loss_forward(input: Tensor, target: Tensor, weight: Tensor,
                               output: Tensor, gamma: float,
                               alpha: float) -> None:
    """``mmcv._ext.sigmoid_focal_loss_forward``: fills ``output`` (N, C)
    with the per-element loss; ``target`` (N, ) in ``[0, C]`` (``C`` =
    background); ``weight`` (C, ) or empty."""
    if input.numel() == 0:
        return
    out = _focal_terms(input, target, gamma, alpha, grad=False)
    output.copy_(_apply_class_weight(out, target, weight))


def sigmoid_focal_loss_backward(input: Tensor, target: Tensor, weight: Tensor,
                                grad_input: Tensor, gamma: float,
                                alpha: float) -> None:
    """``mmcv._ext.sigmoid_focal_loss_backward``: fills ``grad_input`` with
    d loss / d input per element."""
    if input.numel() == 0:
        return
    out = _focal_terms(input, target, gamma, alpha, grad=True)
    grad_input.copy_(_apply_class_weight(out, target, weight))


#: ``mmcv._ext`` function name -> (op name, pure-torch implementation)
TORCH_OPS = {
    'nms': ('nms', nms),
    'sigmoid_focal_loss_forward':
    ('sigmoid_focal_loss', sigmoid_focal_loss_forward),
    'sigmoid_focal_loss_backward':
    ('sigmoid_focal_loss', sigmoid_focal_loss_backward),
}
