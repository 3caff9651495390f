# Copyright (c) mmdet_faces contributors. All rights reserved.
"""WIDER Face evaluation: matching predictions to faces, without a loop.

The rule of the reference port's ``image_eval``: per image, every prediction
looks only at its best-IoU face (the first index on ties, IoU with the
``+1`` pixel convention of the Cython ``bbox_overlaps``) and counts as a
match if that IoU >= ``iou_thr``. All images are flat arrays here; the
candidate (prediction, face) pairs come from the faces sorted by centre x (a
pair with IoU >= t > 0 must have close x-centres), and only those get an
IoU, in chunks of bounded memory.
"""
import numpy as np

# Expand at most about this many candidate (prediction, face) pairs at once.
_CHUNK_PAIRS = 1 << 22


def match_predictions(px1, py1, px2, py2, p_img, gb, g_off, iou_thr):
    """Best face of every prediction, as the port's ``image_eval`` does.

    Args:
        px1, py1, px2, py2 (np.ndarray): (P,) prediction corners (x2 = x +
            w), float64.
        p_img (np.ndarray): (P,) image index of each prediction.
        gb (np.ndarray): (G, 4) face corners, float64.
        g_off (np.ndarray): (num_images + 1,) face offsets per image.
        iou_thr (float): IoU threshold.

    Returns:
        np.ndarray: (P,) int64, the global index of the face with the
        highest IoU (first on ties) when that IoU >= ``iou_thr``, else -1.
    """
    P = len(px1)
    best = np.full(P, -1, dtype=np.int64)
    if P == 0 or len(gb) == 0:
        return best
    g_cnt = np.diff(g_off)
    g_img = np.repeat(np.arange(len(g_cnt)), g_cnt)
    gcx = (gb[:, 0] + gb[:, 2]) * 0.5
    span = float(gcx.max() - gcx.min())
    pruned = iou_thr > 0 and (span + 1.) * len(g_cnt) < 1e13
    if pruned:
        # IoU >= t > 0 needs iw >= t * gw and iw <= pw (widths with +1), so
        # |cx_pred - cx_face| <= pw * (1/2 + max(0, 1/2 - t) / t): a range
        # of the faces sorted by centre x (searched with a safety margin).
        order = np.lexsort((gcx, g_img))
        cmin = float(gcx.min())
        scale = span + 1.
        gkey = g_img[order] * scale + (gcx[order] - cmin)
        pw = px2 - px1
        pw += 1
        reach = pw * ((0.5 + max(0., 0.5 - iou_thr) / iou_thr) * (1 + 1e-6))
        reach += 2.
        pcx = px1 + px2
        pcx *= 0.5
        pcx -= cmin
        lo, cnt = _face_ranges(pcx, reach, p_img, gkey, len(g_cnt), scale)
        cnt[pw <= 0] = 0  # such a box never overlaps anything
        del pcx, reach, pw
    else:
        order = np.arange(len(gb))
        lo = g_off[p_img]
        cnt = g_cnt[p_img]
    gbs = gb[order]
    gx1, gy1, gx2, gy2 = (np.ascontiguousarray(gbs[:, i]) for i in range(4))
    g_area = (gx2 - gx1 + 1) * (gy2 - gy1 + 1)

    cand = np.flatnonzero(cnt > 0)
    cnt, lo = cnt[cand], lo[cand]
    cs = np.cumsum(cnt)
    keep_p, keep_f, keep_iou = [], [], []
    a, n = 0, len(cand)
    while a < n:
        # a chunk of predictions with at most about _CHUNK_PAIRS pairs
        done = int(cs[a - 1]) if a else 0
        b = int(np.searchsorted(cs, done + _CHUNK_PAIRS, side='right'))
        b = min(max(b, a + 1), n)
        c = cnt[a:b]
        n_pairs = int(cs[b - 1]) - done
        pp = np.repeat(cand[a:b], c)
        pos = np.repeat(lo[a:b] - (cs[a:b] - c - done), c)
        pos += np.arange(n_pairs)
        a = b
        iw = (
            np.minimum(px2[pp], gx2[pos]) - np.maximum(px1[pp], gx1[pos]) + 1)
        if pruned:
            sel = np.flatnonzero(iw > 0)
            pp, pos = pp[sel], pos[sel]
            ih = (
                np.minimum(py2[pp], gy2[pos]) - np.maximum(py1[pp], gy1[pos]) +
                1)
            sel = np.flatnonzero(ih > 0)
            pp, pos, ih = pp[sel], pos[sel], ih[sel]
            iw = (
                np.minimum(px2[pp], gx2[pos]) - np.maximum(px1[pp], gx1[pos]) +
                1)
            ok = slice(None)
        else:
            ih = (
                np.minimum(py2[pp], gy2[pos]) - np.maximum(py1[pp], gy1[pos]) +
                1)
            ok = (iw > 0) & (ih > 0)
        # the Cython code: iw * ih / ((x2-x1+1)*(y2-y1+1) + area - iw*ih)
        inter = iw * ih
        ua = ((px2[pp] - px1[pp] + 1) * (py2[pp] - py1[pp] + 1) + g_area[pos] -
              inter)
        if pruned:
            iou = inter / ua
        else:
            iou = np.zeros(len(pp))
            np.divide(inter, ua, out=iou, where=ok)
        sel = np.flatnonzero(iou >= iou_thr)
        keep_p.append(pp[sel])
        keep_f.append(order[pos[sel]])
        keep_iou.append(iou[sel])
    if not keep_p:
        return best
    kp = np.concatenate(keep_p)
    if kp.size == 0:
        return best
    kf = np.concatenate(keep_f)
    ki = np.concatenate(keep_iou)
    # per prediction: highest IoU, then lowest face index (numpy argmax)
    srt = np.lexsort((kf, -ki, kp))
    kp, kf = kp[srt], kf[srt]
    first = np.ones(len(kp), dtype=bool)
    first[1:] = kp[1:] != kp[:-1]
    best[kp[first]] = kf[first]
    return best


def _face_ranges(pcx, reach, p_img, gkey, n_img, scale):
    """Candidate faces ``[lo, lo + cnt)`` (in centre-x order) of every
    prediction: a superset of the faces whose relative centre lies in
    ``[pcx - reach, pcx + reach]``, from a table of bin starts."""
    bins = int(
        min(256, max(1, np.ceil(scale / 4)), max(1,
                                                 4_000_000 // max(n_img, 1))))
    inv = bins / scale
    edges = (np.arange(n_img)[:, None] * scale +
             np.arange(bins)[None, :] / inv).ravel()
    table = np.append(np.searchsorted(gkey, edges, side='left'), len(gkey))
    base = p_img * bins
    pos = pcx - reach
    pos *= inv
    np.clip(pos, 0, bins - 1, out=pos)
    lo = table[base + pos.astype(np.int64)]
    pos = pcx + reach
    pos *= inv
    np.clip(pos, 0, bins - 1, out=pos)
    cnt = table[base + pos.astype(np.int64) + 1]
    cnt -= lo
    return lo, cnt
