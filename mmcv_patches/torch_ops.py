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

The greedy NMS is exact, not an approximation (no "fast NMS"), and needs
a host sync per block of boxes, not per box: as torchvision's CUDA kernel,
the suppression decisions ``IoU > iou_threshold`` of the boxes still alive
are computed on the device, a block of rows at a time (mmcv's float32
arithmetic, so each decision is the kernel's), packed to bits and copied
to the host once per block; the greedy scan over them runs there, and only
boxes no kept box has suppressed yet become rows (or columns) of the next
block. ``tools/analysis_tools/benchmark_nms.py`` measures it.
"""
from typing import Optional

import numpy as np
import torch
from torch import Tensor

__all__ = [
    'nms', 'grouped_nms', 'sigmoid_focal_loss_forward',
    'sigmoid_focal_loss_backward', 'TORCH_OPS'
]

#: smallest normal float32, the clamp of mmcv's focal-loss kernels
FLT_MIN = 1.1754943508222875e-38
#: elements of one block of suppression decisions (rows x columns), CPU
_TILE_ELEMS = 1 << 22
#: the same on an accelerator (fewer blocks: fewer host syncs)
_DEVICE_TILE_ELEMS = 1 << 24
#: bit weights of the packed suppression mask (little bit order)
_BITS = (1, 2, 4, 8, 16, 32, 64, 128)


def _float32_scalar(value: float) -> float:
    """``value`` rounded to float32, as a C++ ``float`` parameter."""
    return float(torch.tensor(float(value), dtype=torch.float32))


def _compute_dtype(boxes: Tensor) -> torch.dtype:
    # mmcv's kernels read float32; float64 stays float64
    return torch.float64 if boxes.dtype == torch.float64 else torch.float32


def _overlap(a: Tensor, b: Tensor, offset: int, thr: float) -> Tensor:
    """``IoU > thr`` of boxes ``a`` with boxes ``b`` (broadcast).

    Args:
        a (Tensor): (5, ...) x1, y1, x2, y2, area.
        b (Tensor): (5, ...) likewise, broadcastable with ``a``.

    Returns:
        Tensor: bool, the broadcast shape. The float operations and their
        order are those of mmcv's CPU kernel (``max(0, xx2 - xx1 +
        offset)``, ``inter / (area_i + area_j - inter)``), so each decision
        equals the kernel's (a box with a NaN coordinate neither suppresses
        nor is suppressed, in both).
    """
    ax1, ay1, ax2, ay2, aarea = a
    bx1, by1, bx2, by2, barea = b
    w = torch.minimum(ax2, bx2).sub_(torch.maximum(ax1, bx1))
    w = w.add_(offset).clamp_min_(0)
    h = torch.minimum(ay2, by2).sub_(torch.maximum(ay1, by1))
    h = h.add_(offset).clamp_min_(0)
    inter = w.mul_(h)
    union = (aarea + barea).sub_(inter)
    return inter.div_(union) > thr


def _to_host(mask: Tensor, pack: Optional[bool] = None) -> np.ndarray:
    """A (R, C) bool tensor as a numpy array; packed to bits for the one
    copy (eight times fewer bytes) when ``pack`` (default: off the CPU)."""
    if pack is None:
        pack = mask.device.type != 'cpu'
    if not pack:
        return mask.cpu().numpy()
    rows, cols = mask.shape
    pad = (-cols) % 8
    if pad:
        mask = torch.cat([mask, mask.new_zeros((rows, pad))], 1)
    bits = torch.tensor(_BITS, dtype=torch.uint8, device=mask.device)
    packed = (mask.view(rows, -1, 8).to(torch.uint8) * bits).sum(
        -1, dtype=torch.uint8)
    return np.unpackbits(
        packed.cpu().numpy(), axis=1, count=cols, bitorder='little').view(bool)


def _greedy_keep(boxes: Tensor, valid: Tensor, iou_threshold: float,
                 offset: int) -> Tensor:
    """Greedy NMS of padded groups.

    Boxes are taken position by position, all groups at once (boxes of
    different groups never interact). Each block: the next positions where
    a box is not suppressed yet (rows) against the positions from there on
    where a box is not suppressed yet (columns), every group; one
    device-to-host copy of the decisions; the greedy scan on the host.

    Args:
        boxes (Tensor): (G, M, 4) x1y1x2y2, each group in processing order.
        valid (Tensor): (G, M) bool, False for padding.
        iou_threshold (float): Suppress when IoU > this (float32).
        offset (int): 0 or 1, added to widths and heights.

    Returns:
        Tensor: (G, M) bool keep flags, on the boxes' device.
    """
    num_groups, m = valid.shape
    device = boxes.device
    x1, y1, x2, y2 = boxes.to(_compute_dtype(boxes)).unbind(-1)
    coords = torch.stack(
        [x1, y1, x2, y2, (x2 - x1 + offset) * (y2 - y1 + offset)])  # (5, G, M)
    thr = _float32_scalar(iou_threshold)
    tile = _TILE_ELEMS if device.type == 'cpu' else _DEVICE_TILE_ELEMS
    alive = valid.cpu().numpy().copy()  # not suppressed so far
    keep = np.zeros_like(alive)
    start = 0  # first position not decided yet
    while True:
        cols = np.flatnonzero(alive[:, start:].any(0)) + start
        if cols.size == 0:
            break
        rows = cols[:max(1, tile // (num_groups * cols.size))]
        start = int(rows[-1]) + 1
        rows_t = torch.from_numpy(rows).to(device)
        cols_t = torch.from_numpy(cols).to(device)
        hit = _overlap(coords[:, :, rows_t, None], coords[:, :, None, cols_t],
                       offset, thr)  # (G, R, C)
        hit &= cols_t > rows_t[:, None]  # later boxes only
        spare = ~_to_host(hit.view(-1, cols.size)).reshape(hit.shape)
        local = alive[:, cols]  # updated by the scan, written back below
        if num_groups == 1:
            local0, keep0, spare0 = local[0], keep[0], spare[0]
            for r, p in enumerate(rows.tolist()):
                if local0[r]:  # rows are the first columns
                    keep0[p] = True
                    np.logical_and(local0, spare0[r], out=local0)
        else:
            for r, p in enumerate(rows.tolist()):
                g = np.flatnonzero(local[:, r])
                if g.size:
                    keep[g, p] = True
                    local[g] &= spare[g, r]
        alive[:, cols] = local
    return torch.from_numpy(keep).to(device)


def nms(boxes: Tensor,
        scores: Tensor,
        iou_threshold: float,
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
    keep = _greedy_keep(boxes[order][None],
                        order.new_ones((1, order.numel()), dtype=torch.bool),
                        iou_threshold, offset)[0]
    return order[keep]


def grouped_nms(boxes: Tensor,
                scores: Tensor,
                groups: Tensor,
                iou_threshold: float,
                offset: int = 0) -> Tensor:
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
    valid = torch.zeros((num_groups, m), dtype=torch.bool, device=boxes.device)
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
    is_pos = target[:, None] == torch.arange(num_classes, device=input.device)
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
