# Copyright (c) mmdet_faces contributors. All rights reserved.
"""WIDER Face evaluation, exact to the published protocol and vectorised.

The numbers are those of the widely used Python port of the official MATLAB
toolkit (``WiderFace-Evaluation``: ``evaluation.py`` + the Cython
``bbox_overlaps`` with the ``+1`` pixel convention), which every published
RetinaFace / SCRFD / S3FD easy/medium/hard AP comes from. The rules (see
``widerface_eval_protocol.md``):

- one global min-max score normalisation over every prediction read (running
  min starts at 1 and max at 0);
- per image, predictions in file order; each one looks only at its best-IoU
  face (first index on ties); if that IoU >= ``iou_thr``, a face outside the
  setting makes the prediction "ignored" (neither TP nor FP), a face in the
  setting is recalled by its first such prediction, later ones are FPs;
- threshold ``t_k = 1 - (k + 1) / 1000``: per image the *last* prediction
  whose normalised score is ``>= t_k`` gives the number of non-ignored
  proposals up to it and the faces recalled at it;
- images with no faces or no predictions add nothing but their faces of the
  setting count in the recall denominator; all-point VOC AP.

Unlike the port there is no per-prediction Python loop. Reading parses the
numbers of many files at once (a vectorised decimal parser, exact to
Python's ``float``). All images are concatenated into flat arrays;
candidate (prediction, face) pairs come from the faces sorted by centre x (a
pair with IoU >= t > 0 must have close x-centres) and only those get an
IoU; "the first time a face is matched" is a first-occurrence computation;
with ``v_h`` the smallest score bucket from prediction ``h`` to the end of
its image, ``h`` counts at threshold ``k`` exactly when ``v_h <= k``, so the
port's "last prediction above ``t_k``" sums are cumulative histograms. The
settings share one matching pass.

Differences from the port that never change an AP on valid input: no NaN
precisions (0/0 points, which sit before the first recall, are reported as 0
and produce no numpy warning); prediction files are keyed by their file name
(``<event>/<name>.txt``) rather than by the name on their first line (the
port strips the characters ``.jpg`` from the end of that name, so it loses
images whose names end in ``j``, ``p`` or ``g``); blank lines and extra
blanks in a prediction file are accepted. A setting without any face has AP
``nan`` (the port gives ``nan`` there too).

Input the protocol accepts but that probably gives a misleading number
raises a :class:`WIDERFaceEvalWarning`: every score equal (the min-max
normalisation is degenerate: every AP is 0), or prediction files of images
outside the ground truth (they take part in the normalisation).
"""
import os
import os.path as osp
import warnings
from collections.abc import Mapping

import numpy as np

__all__ = [
    'WIDERFACE_SETTINGS', 'DEFAULT_SIZE_BUCKETS', 'WIDERFaceEvalWarning',
    'load_widerface_gt',
    'read_widerface_preds', 'evaluate_widerface', 'eval_face_ap',
    'widerface_voc_ap'
]

WIDERFACE_SETTINGS = ('easy', 'medium', 'hard')
#: Face size buckets of :func:`eval_face_ap`: ``name: (low, high)`` on the
#: face size (``sqrt(w * h)`` by default), ``low <= size < high``.
DEFAULT_SIZE_BUCKETS = {
    'small': (0., 32.),
    'medium': (32., 96.),
    'large': (96., float('inf'))
}

THRESH_NUM = 1000


class WIDERFaceEvalWarning(UserWarning):
    """Input the protocol accepts but whose numbers are probably not what
    was meant (the APs are still those of the protocol)."""

_GT_FILES = (('all', 'wider_face_val.mat'), ('easy', 'wider_easy_val.mat'),
             ('medium', 'wider_medium_val.mat'), ('hard',
                                                  'wider_hard_val.mat'))
_GT_KEYS = ('event_list', 'file_list', 'face_bbx_list')
_SETTING_KEYS = ('gt_list', )
# Parse prediction files in chunks of about this many bytes (bounds memory).
_CHUNK_BYTES = 4 << 20
# Expand at most about this many candidate (prediction, face) pairs at once.
_CHUNK_PAIRS = 1 << 22
_POW10 = 10.0**np.arange(23)  # exact doubles
# Longest token parsed vectorised: a sign, 15 digits and a dot.
_MAX_FAST_LEN = 17


# ----------------------------------------------------------------------------
# Ground truth
# ----------------------------------------------------------------------------
def _mat_str(x):
    """A MATLAB string cell (``array(['abc'])``) as ``str``."""
    return str(np.asarray(x).ravel()[0])


def load_widerface_gt(gt_dir):
    """Load the official WIDER Face validation ground truth.

    Args:
        gt_dir (str): Folder with ``wider_face_val.mat``,
            ``wider_easy_val.mat``, ``wider_medium_val.mat`` and
            ``wider_hard_val.mat`` (the toolkit's ``ground_truth/``).

    Returns:
        dict: ``names`` (list[str], ``'<event>/<image>'`` in .mat order),
        ``boxes`` (np.ndarray, (G, 4) float64 ``x y w h``), ``offsets``
        (np.ndarray, (num_images + 1,) int64: faces of image ``i`` are
        ``boxes[offsets[i]:offsets[i + 1]]``), ``settings`` (dict: setting
        name -> (G,) bool mask of the faces that count in it) and
        ``num_faces`` (dict: setting name -> int, the recall denominator).

    Raises:
        FileNotFoundError: the folder or one of the four files is missing.
        ValueError: a file is not a WIDER Face ground-truth .mat (the
            message names the file and the keys expected and found).
    """
    from scipy.io import loadmat
    if not osp.isdir(gt_dir):
        raise FileNotFoundError(
            f'WIDER Face ground-truth folder not found: {gt_dir}')
    mats = {}
    for key, fname in _GT_FILES:
        path = osp.join(gt_dir, fname)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path} is missing (a WIDER Face ground-truth folder holds '
                'wider_face_val.mat, wider_easy_val.mat, '
                'wider_medium_val.mat and wider_hard_val.mat)')
        try:
            mat = loadmat(path)
        except Exception as e:  # noqa: BLE001  (scipy raises many types)
            raise ValueError(f'{path} is not a readable MATLAB .mat file: '
                             f'{e}') from e
        expected = _GT_KEYS if key == 'all' else _SETTING_KEYS
        found = sorted(k for k in mat if not k.startswith('__'))
        if any(k not in mat for k in expected):
            raise ValueError(
                f'{path} is not a WIDER Face ground-truth file: expected '
                f'keys {list(expected)}, found {found}')
        mats[key] = (path, mat)

    path, mat = mats['all']
    try:
        event_list = mat['event_list'].ravel()
        file_list = mat['file_list'].ravel()
        bbx_list = mat['face_bbx_list'].ravel()
        if not len(event_list) == len(file_list) == len(bbx_list):
            raise ValueError('event_list, file_list and face_bbx_list '
                             'differ in length')
        names, boxes, counts = [], [], []
        for i in range(len(event_list)):
            event = _mat_str(event_list[i])
            files = np.asarray(file_list[i]).ravel()
            ev_boxes = np.asarray(bbx_list[i]).ravel()
            if len(files) != len(ev_boxes):
                raise ValueError(f'event {event}: {len(files)} files but '
                                 f'{len(ev_boxes)} box lists')
            for j in range(len(files)):
                names.append(f'{event}/{_mat_str(files[j])}')
                # the port: ``gt_bbx_list[j][0].astype('float')``
                b = np.asarray(ev_boxes[j]).astype('float')
                if b.size == 0:
                    b = b.reshape(0, 4)
                if b.ndim != 2 or b.shape[1] != 4:
                    raise ValueError(f'image {names[-1]}: face boxes of shape '
                                     f'{b.shape}, expected (N, 4)')
                boxes.append(b)
                counts.append(len(b))
    except (IndexError, TypeError, ValueError) as e:
        raise ValueError(f'{path} does not have the WIDER Face layout: '
                         f'{e}') from e
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    boxes = (np.concatenate(boxes) if boxes else np.zeros(
        (0, 4))).astype(np.float64)

    settings, num_faces = {}, {}
    for key in WIDERFACE_SETTINGS:
        spath, smat = mats[key]
        try:
            gt_list = smat['gt_list'].ravel()
            if len(gt_list) != len(event_list):
                raise ValueError(f'{len(gt_list)} events, '
                                 f'wider_face_val.mat has {len(event_list)}')
            idx, k = [], 0
            for i in range(len(gt_list)):
                ev = np.asarray(gt_list[i]).ravel()
                n_files = len(np.asarray(file_list[i]).ravel())
                if len(ev) != n_files:
                    raise ValueError(f'event {i}: {len(ev)} images, '
                                     f'wider_face_val.mat has {n_files}')
                for j in range(len(ev)):
                    keep = np.asarray(ev[j]).astype(np.int64).ravel()
                    if keep.size and (keep.min() < 1
                                      or keep.max() > counts[k]):
                        raise ValueError(
                            f'image {names[k]}: face index out of 1..'
                            f'{counts[k]}')
                    idx.append(keep - 1 + offsets[k])
                    k += 1
        except (IndexError, TypeError, ValueError) as e:
            raise ValueError(f'{spath} does not match wider_face_val.mat: '
                             f'{e}') from e
        idx = np.concatenate(idx) if idx else np.zeros(0, np.int64)
        mask = np.zeros(len(boxes), dtype=bool)
        mask[idx] = True
        settings[key] = mask
        # the port counts ``len(keep_index)`` per image
        num_faces[key] = int(len(idx))
    return dict(
        names=names,
        boxes=boxes,
        offsets=offsets,
        settings=settings,
        num_faces=num_faces)


# ----------------------------------------------------------------------------
# Predictions
# ----------------------------------------------------------------------------
def _list_pred_files(pred_dir):
    """``{'<event>/<name>': path}`` of every ``<event>/<name>.txt``."""
    files = {}
    with os.scandir(pred_dir) as it:
        events = sorted(e.name for e in it if e.is_dir())
    for event in events:
        with os.scandir(osp.join(pred_dir, event)) as it:
            entries = sorted((e.name, e.path) for e in it
                             if e.name.endswith('.txt') and e.is_file())
        for name, path in entries:
            files[f'{event}/{name[:-4]}'] = path
    return files


def _split_header(path, data):
    """Split a prediction file into (box count, body bytes)."""
    i1 = data.find(b'\n')
    if i1 < 0:
        what = 'is empty' if not data.strip() else 'has only one line'
        raise ValueError(f'{path}: the file {what}; expected the image name '
                         'on line 1 and the number of boxes on line 2')
    i2 = data.find(b'\n', i1 + 1)
    if i2 < 0:
        i2 = len(data)
    try:
        count = int(data[i1 + 1:i2])
    except ValueError:
        raise ValueError(f'{path}:2: expected the number of boxes, got '
                         f'{data[i1 + 1:i2][:60]!r}') from None
    if count < 0:
        raise ValueError(f'{path}:2: negative number of boxes {count}')
    return count, data[i2 + 1:]


def _body_line(body, local):
    return body.split(b'\n')[local].strip()[:80]


def _locate(first_line, line):
    """Global line index -> (file index in the chunk, 0-based body line)."""
    k = int(np.searchsorted(first_line, line, side='right')) - 1
    return k, line - int(first_line[k])


def _parse_numbers(big, u8, starts, ends):
    """Parse whitespace-separated tokens exactly as Python's ``float``.

    A token ``[+-]digits[.digits]`` with at most 15 digits is parsed
    vectorised, column by column of characters, into an exact integer
    mantissa and a number of fraction digits: ``mantissa / 10**fraction``
    divides two exact doubles, so its correctly rounded result equals the
    correctly rounded decimal conversion of ``float``. Other tokens
    (exponents, more digits, ``nan``...) go through ``float`` one by one.

    Args:
        big (bytes): The text, followed by at least 17 blank bytes.
        u8 (np.ndarray): ``big`` as uint8.
        starts, ends (np.ndarray): (T,) token boundaries ``[start, end)``.

    Returns:
        tuple[np.ndarray, int]: (T,) float64 values, and the index of the
        first token that is not a number (-1 if none).
    """
    T = len(starts)
    length = ends - starts
    width = int(min(length.max(), _MAX_FAST_LEN)) if T else 0
    # (width, T) characters, column j = j-th character of every token
    view = np.lib.stride_tricks.as_strided(
        u8, shape=(len(u8) - _MAX_FAST_LEN, width), strides=(1, 1),
        writeable=False)
    chars = np.ascontiguousarray(view[starts].T)
    first = chars[0] if T else np.zeros(0, np.uint8)
    neg = first == 45
    sign = neg | (first == 43)
    mant = np.zeros(T)
    n_dig = np.zeros(T, dtype=np.int64)
    frac = np.zeros(T, dtype=np.int64)
    seen_dot = np.zeros(T, dtype=bool)
    bad = length > _MAX_FAST_LEN
    for j in range(width):
        c = chars[j]
        inside = length > j
        digit = c - np.uint8(48)  # wraps around below '0'
        is_digit = (digit < 10) & inside
        is_dot = (c == 46) & inside
        other = inside & ~is_digit & ~is_dot
        if j == 0:
            other &= ~sign
        bad |= other | (is_dot & seen_dot)
        seen_dot |= is_dot
        # Horner on the digits only (exact while below 2**53)
        mant = np.where(is_digit, mant * 10 + digit, mant)
        n_dig += is_digit
        frac += is_digit & seen_dot
    fast = ~bad & (n_dig >= 1) & (n_dig <= 15)
    values = mant / _POW10[np.minimum(frac, 22)]
    np.negative(values, out=values, where=neg)
    bad_tok = -1
    slow = np.flatnonzero(~fast)
    if len(slow):
        out = np.empty(len(slow))
        for i, k in enumerate(slow.tolist()):
            try:
                out[i] = float(big[int(starts[k]):int(ends[k])])
            except ValueError:
                bad_tok = k
                break
        if bad_tok < 0:
            values[slow] = out
    return values, bad_tok


def _parse_bodies(paths, counts, bodies, out):
    """Parse the box rows of several files at once.

    Args:
        paths (list[str]): The files (for messages).
        counts (list[int]): The box count of each file (its line 2).
        bodies (list[bytes]): The text of each file after line 2.
        out (np.ndarray): (5, sum(counts)) float64 to fill with the
            columns x, y, w, h, score.
    """
    n_lines = np.fromiter((b.count(b'\n') + 1 for b in bodies), np.int64,
                          len(bodies))
    first_line = np.zeros(len(bodies), dtype=np.int64)
    np.cumsum(n_lines[:-1], out=first_line[1:])
    # blank padding lets the parser read _MAX_FAST_LEN bytes at any token
    big = b'\n'.join(bodies) + b' ' * (_MAX_FAST_LEN + 1)
    u8 = np.frombuffer(big, dtype=np.uint8)
    nonws = u8 > 32  # blanks: space, tab, CR, LF (and other controls)
    edge = nonws.copy()
    edge[1:] &= ~nonws[:-1]
    starts = np.flatnonzero(edge)
    np.copyto(edge, nonws)
    edge[:-1] &= ~nonws[1:]
    ends = np.flatnonzero(edge) + 1
    del edge, nonws
    nl = np.flatnonzero(u8 == 10)
    # tokens per line: token starts between consecutive line feeds
    bounds = np.concatenate(([0], nl + 1, [len(u8)]))
    tokens = np.diff(np.searchsorted(starts, bounds))
    bad = np.flatnonzero((tokens != 0) & (tokens != 5))
    if bad.size:
        k, local = _locate(first_line, int(bad[0]))
        raise ValueError(
            f'{paths[k]}:{local + 3}: expected 5 numbers "x y w h score", '
            f'found {int(tokens[bad[0]])}: {_body_line(bodies[k], local)!r}')
    is_row = tokens == 5
    cum_rows = np.concatenate(([0], np.cumsum(is_row)))
    rows = cum_rows[first_line + n_lines] - cum_rows[first_line]
    wrong = np.flatnonzero(rows != np.asarray(counts))
    if wrong.size:
        k = int(wrong[0])
        raise ValueError(f'{paths[k]}:2: the file says {counts[k]} boxes but '
                         f'has {int(rows[k])} box rows')
    if len(starts) == 0:
        return
    # parse column by column: x of every row, then y, ...
    perm = np.arange(len(starts)).reshape(-1, 5).T.ravel()
    starts, ends = starts[perm], ends[perm]
    values, bad_tok = _parse_numbers(big, u8, starts, ends)
    if bad_tok >= 0:
        k, local = _locate(first_line,
                           int(np.searchsorted(nl, starts[bad_tok])))
        raise ValueError(f'{paths[k]}:{local + 3}: not a number in the row '
                         f'{_body_line(bodies[k], local)!r} (expected '
                         '"x y w h score")')
    values = values.reshape(5, -1)
    finite = np.isfinite(values).all(axis=0)
    if not finite.all():
        r = int(np.flatnonzero(~finite)[0])
        line = int(np.flatnonzero(is_row)[r])
        k, local = _locate(first_line, line)
        what = 'score' if np.isfinite(values[:4, r]).all() else 'box'
        raise ValueError(
            f'{paths[k]}:{local + 3}: non-finite {what} in the row '
            f'{_body_line(bodies[k], local)!r}; boxes and scores must be '
            'finite numbers')
    r = _first_overflow(values[0], values[1], values[2], values[3])
    if r >= 0:
        line = int(np.flatnonzero(is_row)[r])
        k, local = _locate(first_line, line)
        raise ValueError(
            f'{paths[k]}:{local + 3}: x + w or y + h overflows to infinity in '
            f'the row {_body_line(bodies[k], local)!r}; boxes must be finite '
            'pixel coordinates')
    out[...] = values


def _first_overflow(x, y, w, h):
    """Index of the first row whose corner ``x + w`` or ``y + h`` (as the
    evaluation computes it) is not finite, -1 if none."""
    with np.errstate(over='ignore', invalid='ignore'):
        ok = np.isfinite(x + w)
        ok &= np.isfinite(y + h)
    return -1 if ok.all() else int(np.flatnonzero(~ok)[0])


def read_widerface_preds(pred_dir, gt=None):
    """Read a prediction folder in the official layout.

    Every ``<event>/<name>.txt`` holds the image name (line 1), the number
    of boxes (line 2) and one ``x y w h score`` row per box, used in the
    order written. Scores may lie outside [0, 1]: the evaluation normalises
    them as the protocol does.

    Args:
        pred_dir (str): The prediction folder.
        gt (dict, optional): Output of :func:`load_widerface_gt`. When
            given, every ground-truth image must have a file, and the
            ground-truth images come first, in ground-truth order. Files of
            other images are read as well (the port normalises scores over
            every file in the folder), with a :class:`WIDERFaceEvalWarning`
            that counts them.

    Returns:
        dict: ``names`` (list[str], ``'<event>/<name>'``), ``dets``
        (np.ndarray, (P, 5) float64 ``x y w h score``) and ``offsets``
        (np.ndarray, (num_files + 1,) int64).

    Raises:
        FileNotFoundError: the folder is missing, or files of ground-truth
            images are missing (the first 10 and the count are named).
        ValueError: a malformed file (file and 1-based line are named), a
            count line that disagrees with the rows, or a NaN / infinite
            value.
    """
    if not osp.isdir(pred_dir):
        raise FileNotFoundError(f'prediction folder not found: {pred_dir}')
    files = _list_pred_files(pred_dir)
    if gt is not None:
        missing = [n for n in gt['names'] if n not in files]
        if missing:
            shown = ', '.join(f'{n}.txt' for n in missing[:10])
            raise FileNotFoundError(
                f'{len(missing)} of {len(gt["names"])} ground-truth images '
                f'have no prediction file in {pred_dir}: {shown}' +
                (', ...' if len(missing) > 10 else ''))
        gt_names = set(gt['names'])
        extra = [n for n in files if n not in gt_names]
        names = list(gt['names']) + extra
    else:
        extra = []
        names = list(files)

    paths = [files[name] for name in names]
    counts, bodies = [], []
    for path in paths:
        with open(path, 'rb') as f:
            count, body = _split_header(path, f.read())
        counts.append(count)
        bodies.append(body)
    offsets = np.zeros(len(names) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    # (5, P) columns, returned as a (P, 5) view; parsed in chunks of files
    columns = np.empty((5, int(offsets[-1])))
    a, size = 0, 0
    for b in range(len(bodies)):
        size += len(bodies[b])
        if size >= _CHUNK_BYTES or b == len(bodies) - 1:
            _parse_bodies(paths[a:b + 1], counts[a:b + 1], bodies[a:b + 1],
                          columns[:, offsets[a]:offsets[b + 1]])
            a, size = b + 1, 0
    if extra:
        _warn_extra_files(pred_dir, extra, columns[4],
                          int(offsets[len(names) - len(extra)]))
    return dict(names=names, dets=columns.T, offsets=offsets)


def _score_range(scores):
    """(min, max) as the port's running min / max (start at 1 and 0)."""
    if scores.size == 0:
        return 1., 0.
    return min(float(scores.min()), 1.), max(float(scores.max()), 0.)


def _warn_extra_files(pred_dir, extra, scores, num_gt_rows):
    """Warn about prediction files of images outside the ground truth:
    not evaluated, but their scores take part in the normalisation."""
    shown = ', '.join(f'{n}.txt' for n in extra[:5]) + \
        (', ...' if len(extra) > 5 else '')
    before = _score_range(scores[:num_gt_rows])
    after = _score_range(scores)
    if before != after:
        effect = (f'they move the score range of the min-max normalisation '
                  f'from [{before[0]:g}, {before[1]:g}] to '
                  f'[{after[0]:g}, {after[1]:g}], which can change the APs')
    else:
        effect = 'they do not change the score range, nor the APs'
    warnings.warn(
        f'{len(extra)} prediction files in {pred_dir} are for images not in '
        f'the ground truth ({shown}): they are not evaluated but, as in the '
        f'reference evaluation, their scores take part in the score '
        f'normalisation; {effect}', WIDERFaceEvalWarning, stacklevel=3)


def _rows(x, cols, what):
    """``x`` as a float64 (N, cols) array; an empty input gives (0, cols)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x.reshape(0, cols)
    if x.ndim != 2 or x.shape[1] != cols:
        raise ValueError(f'{what}: expected an (N, {cols}) array, got shape '
                         f'{x.shape}')
    return x


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
    r = _first_overflow(*dets[:, :4].T)
    if r >= 0:
        raise ValueError(f'preds: x + w or y + h overflows to infinity in the '
                         f'row {dets[r].tolist()} of '
                         f'{_image_of(names, offsets, r)}; boxes must be '
                         'finite pixel coordinates')
    return names, dets, offsets


def _image_of(names, offsets, row):
    """``'<name> (row <i>)'`` of a global prediction row."""
    k = int(np.searchsorted(offsets, row, side='right')) - 1
    return f'{names[k]!r} (row {row - int(offsets[k])})'


# ----------------------------------------------------------------------------
# Core (flat arrays)
# ----------------------------------------------------------------------------
def _normalize_scores(scores):
    """The port's global min-max normalisation (min starts at 1, max at 0).

    Returns None when the port would produce NaN for every score (every
    score is the same value in [0, 1], e.g. a single prediction): then no
    prediction passes any threshold and every AP is 0, with a
    :class:`WIDERFaceEvalWarning`.
    """
    if scores.size == 0:
        return scores
    lo, hi = _score_range(scores)
    diff = hi - lo
    if diff == 0:
        warnings.warn(
            f'all {scores.size} prediction scores are {lo:g}: the '
            'protocol\'s min-max score normalisation divides 0 by 0, so no '
            'prediction passes any threshold and every AP is 0 (as in the '
            'reference evaluation); use the detector\'s real scores',
            WIDERFaceEvalWarning, stacklevel=3)
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


def _face_ranges(pcx, reach, p_img, gkey, n_img, scale):
    """Candidate faces ``[lo, lo + cnt)`` (in centre-x order) of every
    prediction: a superset of the faces whose relative centre lies in
    ``[pcx - reach, pcx + reach]``, from a table of bin starts."""
    bins = int(min(256, max(1, np.ceil(scale / 4)),
                   max(1, 4_000_000 // max(n_img, 1))))
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


def _match(px1, py1, px2, py2, p_img, gb, g_off, iou_thr):
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
        iw = (np.minimum(px2[pp], gx2[pos]) -
              np.maximum(px1[pp], gx1[pos]) + 1)
        if pruned:
            sel = np.flatnonzero(iw > 0)
            pp, pos = pp[sel], pos[sel]
            ih = (np.minimum(py2[pp], gy2[pos]) -
                  np.maximum(py1[pp], gy1[pos]) + 1)
            sel = np.flatnonzero(ih > 0)
            pp, pos, ih = pp[sel], pos[sel], ih[sel]
            iw = (np.minimum(px2[pp], gx2[pos]) -
                  np.maximum(px1[pp], gx1[pos]) + 1)
            ok = slice(None)
        else:
            ih = (np.minimum(py2[pp], gy2[pos]) -
                  np.maximum(py1[pp], gy1[pos]) + 1)
            ok = (iw > 0) & (ih > 0)
        # the Cython code: iw * ih / ((x2-x1+1)*(y2-y1+1) + area - iw*ih)
        inter = iw * ih
        ua = ((px2[pp] - px1[pp] + 1) * (py2[pp] - py1[pp] + 1) +
              g_area[pos] - inter)
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
    best = _match(*pcols, p_img, gboxes, g_off, iou_thr)
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


# ----------------------------------------------------------------------------
# Public evaluation functions
# ----------------------------------------------------------------------------
def evaluate_widerface(preds, gt, iou_thr=0.5, allow_missing=False,
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
