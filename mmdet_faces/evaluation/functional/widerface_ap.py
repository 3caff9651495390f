# Copyright (c) mmdet_faces contributors. All rights reserved.
"""WIDER Face evaluation: precision-recall and AP, exact to the protocol.

The numbers are those of the widely used Python port of the official MATLAB
toolkit (``WiderFace-Evaluation``: ``evaluation.py`` + the Cython
``bbox_overlaps``), which every published RetinaFace / SCRFD / S3FD
easy/medium/hard AP comes from. The rules (``widerface_eval_protocol.md``):

- one global min-max score normalisation over every prediction read (running
  min starts at 1 and max at 0);
- matching as :func:`~.widerface_matching.match_predictions`: a prediction
  whose best face is outside the setting is "ignored" (neither TP nor FP), a
  face in the setting is recalled by its first such prediction, later ones
  are FPs;
- threshold ``t_k = 1 - (k + 1) / 1000``: per image the *last* prediction
  whose normalised score is ``>= t_k`` gives the number of non-ignored
  proposals up to it and the faces recalled at it;
- images with no faces or no predictions add nothing but their faces of the
  setting count in the recall denominator; all-point VOC AP.

There is no per-prediction loop: with ``v_h`` the smallest score bucket from
prediction ``h`` to the end of its image, ``h`` counts at threshold ``k``
exactly when ``v_h <= k``, so the port's "last prediction above ``t_k``"
sums are cumulative histograms; the settings share one matching pass.
Differences from the port that never change an AP on valid input: no NaN
precisions (0/0 points, which sit before the first recall, are reported as
0 and produce no numpy warning). A setting without any face has AP ``nan``
(as in the port). Every score equal (a degenerate normalisation: every AP is
0) raises a :class:`~.widerface_preds.WIDERFaceEvalWarning`.
"""
import warnings
from collections.abc import Mapping

import numpy as np

from .widerface_gt import WIDERFACE_SETTINGS
from .widerface_matching import match_predictions
from .widerface_preds import WIDERFaceEvalWarning, first_overflow, score_range

#: Face size buckets of :func:`eval_face_ap`: ``name: (low, high)`` on the
#: face size (``sqrt(w * h)`` by default), ``low <= size < high``.
DEFAULT_SIZE_BUCKETS = {
    'small': (0., 32.),
    'medium': (32., 96.),
    'large': (96., float('inf'))
}
#: Number of score thresholds of the protocol.
THRESH_NUM = 1000


def evaluate_widerface(preds,
                       gt,
                       iou_thr=0.5,
                       allow_missing=False,
                       allfaces=False):
    """Easy / medium / hard AP of WIDER Face predictions.

    Args:
        preds (dict): Output of :func:`read_widerface_preds`, or a mapping
            ``{'<event>/<name>': (N, 5) array of x y w h score}`` with rows
            in the order to use (score-descending).
        gt (dict): Output of :func:`load_widerface_gt`.
        iou_thr (float): IoU threshold. Defaults to 0.5.
        allow_missing (bool): Treat ground-truth images absent from
            ``preds`` as images without predictions instead of raising.
            Defaults to False.
        allfaces (bool): Also compute ``allfaces``: AP where every face of
            the images present in ``preds`` counts. Defaults to False.

    Returns:
        dict: ``easy``, ``medium``, ``hard`` (float AP; ``allfaces`` on
        request), ``curves`` (setting -> dict of (1000,) arrays
        ``precision``, ``recall``, ``thresholds``, ``proposals``,
        ``recalled``) and ``num_faces`` (setting -> int).
    """
    names, dets, offsets = _flat_preds(preds)
    # one global normalisation over every prediction, as the port does
    norm = _normalize_scores(dets[:, 4])
    gt_names = gt['names']
    n_gt = len(gt_names)
    if names[:n_gt] == list(gt_names):
        p_off = offsets[:n_gt + 1]
        rows = slice(0, int(p_off[-1]))
        present = np.ones(n_gt, dtype=bool)
    else:
        index = {n: i for i, n in enumerate(names)}
        if len(index) != len(names):
            raise ValueError('preds: duplicate image names')
        pos = np.array([index.get(n, -1) for n in gt_names], dtype=np.int64)
        present = pos >= 0
        if not present.all() and not allow_missing:
            missing = [n for n, p in zip(gt_names, present) if not p]
            raise KeyError(
                f'{len(missing)} of {n_gt} ground-truth images have no '
                f'predictions: {", ".join(missing[:10])}' +
                (', ...' if len(missing) > 10 else ''))
        safe = np.where(present, pos, 0)
        starts = np.where(present, offsets[safe], 0)
        cnt = np.where(present, offsets[safe + 1] - offsets[safe], 0)
        p_off = np.zeros(n_gt + 1, dtype=np.int64)
        np.cumsum(cnt, out=p_off[1:])
        rows = np.arange(int(p_off[-1])) + np.repeat(starts - p_off[:-1], cnt)
    pcols = _corner_columns(dets, rows)
    scores = None if norm is None else norm[rows]
    gboxes = _corners(gt['boxes'])
    g_off = gt['offsets']

    names_out = list(WIDERFACE_SETTINGS)
    masks = [gt['settings'][s] for s in names_out]
    num_faces = [gt['num_faces'][s] for s in names_out]
    if allfaces:
        names_out.append('allfaces')
        masks.append(np.repeat(present, np.diff(g_off)))
        num_faces.append(int(masks[-1].sum()))
    counts = _pr_counts(pcols, scores, p_off, gboxes, g_off, masks, iou_thr)
    result = dict(curves={}, num_faces={})
    for name, (prop, rec), nf in zip(names_out, counts, num_faces):
        result[name], result['curves'][name] = _curve_and_ap(prop, rec, nf)
        result['num_faces'][name] = nf
    return result


def eval_face_ap(preds,
                 gts,
                 ignores=None,
                 size_buckets=DEFAULT_SIZE_BUCKETS,
                 iou_thr=0.5,
                 size_mode='sqrt_area'):
    """All-faces AP plus AP per face size, with the WIDER Face rules.

    For data sets without the official .mat files. Boxes are corners
    ``x1 y1 x2 y2`` (mmdet's convention; the IoU uses the protocol's ``+1``
    convention on them). Matching, score normalisation, thresholds and AP
    are those of :func:`evaluate_widerface`. A size bucket is evaluated as a
    WIDER setting: faces outside the bucket (and ignored faces) are "don't
    care": a prediction whose best face is one of them is neither a true nor
    a false positive.

    Args:
        preds (Sequence[np.ndarray]): Per image (N, 5) ``x1 y1 x2 y2 score``
            with rows in the order to use (score-descending).
        gts (Sequence[np.ndarray]): Per image (M, 4) ``x1 y1 x2 y2``.
        ignores (Sequence[np.ndarray], optional): Per image (M,) bool, True
            for a don't-care face (e.g. WIDER's invalid faces).
        size_buckets (dict, optional): ``name: (low, high)``, a face is in
            the bucket when ``low <= size < high``. Defaults to
            :data:`DEFAULT_SIZE_BUCKETS` (small < 32, medium 32-96,
            large >= 96 pixels). None or {} for none.
        iou_thr (float): IoU threshold. Defaults to 0.5.
        size_mode (str): Face size used for the buckets: ``'sqrt_area'``
            (``sqrt(w * h)``, with ``w = x2 - x1``) or ``'height'``.

    Returns:
        dict: ``all`` (AP over every non-ignored face), one AP per bucket
        name, ``num_faces`` (name -> int) and ``curves`` (name -> dict, as
        in :func:`evaluate_widerface`).
    """
    if len(preds) != len(gts):
        raise ValueError(f'{len(preds)} prediction arrays for {len(gts)} '
                         'ground-truth arrays')
    if ignores is not None and len(ignores) != len(gts):
        raise ValueError(f'{len(ignores)} ignore masks for {len(gts)} '
                         'ground-truth arrays')
    if size_mode not in ('sqrt_area', 'height'):
        raise ValueError(f'size_mode must be "sqrt_area" or "height", got '
                         f'{size_mode!r}')
    parr = [_rows(p, 5, f'preds[{i}]') for i, p in enumerate(preds)]
    garr = [_rows(g, 4, f'gts[{i}]') for i, g in enumerate(gts)]
    p_off = np.zeros(len(parr) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parr], out=p_off[1:])
    g_off = np.zeros(len(garr) + 1, dtype=np.int64)
    np.cumsum([len(g) for g in garr], out=g_off[1:])
    dets = np.concatenate(parr) if parr else np.zeros((0, 5))
    gboxes = np.concatenate(garr) if garr else np.zeros((0, 4))
    if not (np.isfinite(dets).all() and np.isfinite(gboxes).all()):
        raise ValueError('boxes and scores must be finite numbers')
    if ignores is None:
        care = np.ones(len(gboxes), dtype=bool)
    else:
        ign = [np.asarray(i, dtype=bool).reshape(-1) for i in ignores]
        for k, (i, g) in enumerate(zip(ign, garr)):
            if len(i) != len(g):
                raise ValueError(f'image {k}: {len(i)} ignore flags for '
                                 f'{len(g)} faces')
        care = ~np.concatenate(ign) if ign else np.ones(0, dtype=bool)

    w = gboxes[:, 2] - gboxes[:, 0]
    h = gboxes[:, 3] - gboxes[:, 1]
    if size_mode == 'height':
        size = h
    else:
        size = np.sqrt(np.clip(w, 0, None) * np.clip(h, 0, None))
    names, masks = ['all'], [care]
    for name, (low, high) in (size_buckets or {}).items():
        names.append(name)
        masks.append(care & (size >= low) & (size < high))

    pcols = _corner_columns(dets, slice(None), xywh=False)
    counts = _pr_counts(pcols, _normalize_scores(dets[:, 4]), p_off, gboxes,
                        g_off, masks, iou_thr)
    result = dict(curves={}, num_faces={})
    for name, mask, (prop, rec) in zip(names, masks, counts):
        nf = int(mask.sum())
        result[name], result['curves'][name] = _curve_and_ap(prop, rec, nf)
        result['num_faces'][name] = nf
    return result


def widerface_voc_ap(recall, precision):
    """All-point VOC AP exactly as the port's ``voc_ap``.

    Args:
        recall (np.ndarray): (K,) recall per threshold.
        precision (np.ndarray): (K,) precision per threshold (no NaN).

    Returns:
        float: AP.
    """
    mrec = np.concatenate(([0.], recall, [1.]))
    mpre = np.concatenate(([0.], precision, [0.]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def _pr_counts(pcols, scores, p_off, gboxes, g_off, masks, iou_thr):
    """Proposal / recall counts per threshold, summed over images.

    With ``v_h`` the smallest score bucket among the predictions ``>= h`` of
    the image of ``h``, prediction ``h`` is at or before the last prediction
    above ``t_k`` exactly when ``v_h <= k``. So the port's per-image
    ``(proposals, recalled)`` at ``t_k``, summed over images, are the number
    of non-ignored predictions and of recalling predictions with
    ``v_h <= k``: cumulative histograms of ``v``.

    Args:
        pcols (tuple[np.ndarray]): (P,) x1, y1, x2, y2 of the predictions
            (x2 = x + w), image by image.
        scores (np.ndarray | None): (P,) normalised scores (None: none
            passes any threshold).
        p_off (np.ndarray): (num_images + 1,) prediction offsets.
        gboxes (np.ndarray): (G, 4) face corners.
        g_off (np.ndarray): (num_images + 1,) face offsets.
        masks (list[np.ndarray]): (G,) bool per setting: faces that count.
        iou_thr (float): IoU threshold.

    Returns:
        list[tuple[np.ndarray, np.ndarray]]: per setting, (1000,) float64
        proposals and recalled faces at each threshold.
    """
    p_cnt, g_cnt = np.diff(p_off), np.diff(g_off)
    P = int(p_off[-1])
    if P == 0 or len(gboxes) == 0:
        return [(np.zeros(THRESH_NUM), np.zeros(THRESH_NUM)) for _ in masks]
    p_img = np.repeat(np.arange(len(p_cnt)), p_cnt)
    best = match_predictions(*pcols, p_img, gboxes, g_off, iou_thr)
    buckets = _score_buckets(scores, P)
    # suffix minimum of the buckets inside each image
    stride = THRESH_NUM + 2
    key = p_img * stride
    key += buckets
    v = np.minimum.accumulate(key[::-1])[::-1]
    v -= p_img * stride
    # images without faces add nothing
    counted = v if (g_cnt[p_cnt > 0] > 0).all() else v[g_cnt[p_img] > 0]
    n_bins = THRESH_NUM + 1
    all_props = np.cumsum(np.bincount(counted, minlength=n_bins)[:-1])

    matched = np.flatnonzero(best >= 0)
    face = best[matched]
    _, first_pos = np.unique(face, return_index=True)
    is_first = np.zeros(len(matched), dtype=bool)
    is_first[first_pos] = True
    vm = v[matched]
    out = []
    for mask in masks:
        in_set = mask[face]
        ignored = np.bincount(vm[~in_set], minlength=n_bins)[:-1]
        recalled = np.bincount(vm[is_first & in_set], minlength=n_bins)[:-1]
        out.append(((all_props - np.cumsum(ignored)).astype(np.float64),
                    np.cumsum(recalled).astype(np.float64)))
    return out


def _curve_and_ap(proposals, recalled, num_faces):
    precision = np.zeros(THRESH_NUM)
    np.divide(recalled, proposals, out=precision, where=proposals > 0)
    if num_faces <= 0:
        recall = np.zeros(THRESH_NUM)
        ap = float('nan')
    else:
        recall = recalled / num_faces
        ap = widerface_voc_ap(recall, precision)
    curve = dict(
        precision=precision,
        recall=recall,
        thresholds=1 - (np.arange(THRESH_NUM) + 1) / THRESH_NUM,
        proposals=proposals,
        recalled=recalled)
    return ap, curve


def _normalize_scores(scores):
    """The port's global min-max normalisation (min starts at 1, max at 0).

    Returns None when the port would produce NaN for every score (every
    score is the same value in [0, 1], e.g. a single prediction): then no
    prediction passes any threshold and every AP is 0, with a
    :class:`WIDERFaceEvalWarning`.
    """
    if scores.size == 0:
        return scores
    lo, hi = score_range(scores)
    diff = hi - lo
    if diff == 0:
        warnings.warn(
            f'all {scores.size} prediction scores are {lo:g}: the '
            'protocol\'s min-max score normalisation divides 0 by 0, so no '
            'prediction passes any threshold and every AP is 0 (as in the '
            'reference evaluation); use the detector\'s real scores',
            WIDERFaceEvalWarning,
            stacklevel=3)
        return None
    return (scores - lo) / diff


def _score_buckets(norm_scores, n):
    """Smallest threshold index ``k`` with ``score >= t_k`` (1000 if none).

    ``t_k = 1 - (k + 1) / 1000`` exactly as the port computes it; an
    arithmetic guess is corrected against the exact thresholds.
    """
    if norm_scores is None:
        return np.full(n, THRESH_NUM, dtype=np.int64)
    # padded[k + 1] = t_k, padded[0] = +inf, padded[1001] = -inf
    padded = np.concatenate(
        ([np.inf], 1 - (np.arange(THRESH_NUM) + 1) / THRESH_NUM, [-np.inf]))
    guess = (THRESH_NUM - 1) - THRESH_NUM * norm_scores
    np.clip(guess, 0, THRESH_NUM, out=guess)
    k = np.ceil(guess).astype(np.int64)
    while True:
        up = padded[k + 1] > norm_scores  # t_k does not pass: go lower
        down = padded[k] <= norm_scores  # t_(k-1) passes too: go higher
        if not (up.any() or down.any()):
            return k
        k += up
        k -= down


def _flat_preds(preds):
    """Accept the output of :func:`read_widerface_preds` or a mapping
    ``{'<event>/<name>': (N, 5) array}``."""
    if isinstance(preds, Mapping) and 'dets' in preds and 'offsets' in preds \
            and 'names' in preds:
        names = list(preds['names'])
        dets = _rows(preds['dets'], 5, 'preds["dets"]')
        offsets = np.asarray(preds['offsets'], dtype=np.int64)
        if len(offsets) != len(names) + 1 or offsets[-1] != len(dets):
            raise ValueError('preds: offsets do not match names and dets')
    elif isinstance(preds, Mapping):
        names = [str(k) for k in preds]
        arrs = [_rows(v, 5, f'preds[{k!r}]') for k, v in preds.items()]
        offsets = np.zeros(len(arrs) + 1, dtype=np.int64)
        np.cumsum([len(a) for a in arrs], out=offsets[1:])
        dets = np.concatenate(arrs) if arrs else np.zeros((0, 5))
    else:
        raise TypeError('preds must be the output of read_widerface_preds '
                        'or a mapping name -> (N, 5) array, got '
                        f'{type(preds)}')
    if not np.isfinite(dets).all():
        r = int(np.flatnonzero(~np.isfinite(dets).all(axis=1))[0])
        raise ValueError('preds: boxes and scores must be finite numbers, '
                         f'got {dets[r].tolist()} in '
                         f'{_image_of(names, offsets, r)}')
    r = first_overflow(*dets[:, :4].T)
    if r >= 0:
        raise ValueError(f'preds: x + w or y + h overflows to infinity in the '
                         f'row {dets[r].tolist()} of '
                         f'{_image_of(names, offsets, r)}; boxes must be '
                         'finite pixel coordinates')
    return names, dets, offsets


def _rows(x, cols, what):
    """``x`` as a float64 (N, cols) array; an empty input gives (0, cols)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x.reshape(0, cols)
    if x.ndim != 2 or x.shape[1] != cols:
        raise ValueError(f'{what}: expected an (N, {cols}) array, got shape '
                         f'{x.shape}')
    return x


def _image_of(names, offsets, row):
    """``'<name> (row <i>)'`` of a global prediction row."""
    k = int(np.searchsorted(offsets, row, side='right')) - 1
    return f'{names[k]!r} (row {row - int(offsets[k])})'


def _corners(xywh):
    """``x y w h`` -> corners as the port does (x2 = x + w)."""
    out = xywh[:, :4].copy()
    out[:, 2] += out[:, 0]
    out[:, 3] += out[:, 1]
    return out


def _corner_columns(dets, rows, xywh=True):
    """(P,) contiguous x1, y1, x2, y2 of ``dets[rows]`` (x2 = x + w)."""
    cols = [np.ascontiguousarray(dets[rows, i]) for i in range(4)]
    if xywh:
        cols[2] = cols[0] + cols[2]
        cols[3] = cols[1] + cols[3]
    return tuple(cols)
