# Copyright (c) mmdet_faces contributors. All rights reserved.
"""WIDER Face evaluation: reading a prediction folder.

:func:`read_widerface_preds` reads every ``<event>/<name>.txt`` of a folder
in the official layout (image name, box count, one ``x y w h score`` row per
box) into flat arrays. The numbers of many files are parsed at once
(:func:`~mmdet_faces.utils.parse_numbers`, exact to Python's ``float``);
errors name the file and the 1-based line.

Differences from the reference port that never change an AP on valid input:
files are keyed by their file name (``<event>/<name>.txt``) rather than by
the name on their first line (the port strips the characters ``.jpg`` from
the end of that name, so it loses images whose names end in ``j``, ``p`` or
``g``); blank lines and extra blanks are accepted.
"""
import os
import os.path as osp
import warnings

import numpy as np

from ...utils import parse_numbers, token_bounds

# Parse prediction files in chunks of about this many bytes (bounds memory).
_CHUNK_BYTES = 4 << 20


class WIDERFaceEvalWarning(UserWarning):
    """Input the protocol accepts but whose numbers are probably not what
    was meant (the APs are still those of the protocol): every score equal,
    or prediction files of images outside the ground truth."""


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
    negative = []  # (rows, files, first row) of each chunk
    for b in range(len(bodies)):
        size += len(bodies[b])
        if size >= _CHUNK_BYTES or b == len(bodies) - 1:
            negative.append(
                _parse_bodies(paths[a:b + 1], counts[a:b + 1], bodies[a:b + 1],
                              columns[:, offsets[a]:offsets[b + 1]]))
            a, size = b + 1, 0
    negative = [n for n in negative if n is not None]
    if negative:
        rows = sum(n[0] for n in negative)
        warnings.warn(
            f'{rows} box rows in {sum(n[1] for n in negative)} prediction '
            f'files have a negative width or height (first: {negative[0][2]})'
            '; they are evaluated as written (corners x, y, x + w, y + h, '
            'as the reference evaluation does), which is probably not what '
            'was meant',
            WIDERFaceEvalWarning,
            stacklevel=2)
    if extra:
        _warn_extra_files(pred_dir, extra, columns[4],
                          int(offsets[len(names) - len(extra)]))
    return dict(names=names, dets=columns.T, offsets=offsets)


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


def _parse_bodies(paths, counts, bodies, out):
    """Parse the box rows of several files at once.

    Args:
        paths (list[str]): The files (for messages).
        counts (list[int]): The box count of each file (its line 2).
        bodies (list[bytes]): The text of each file after line 2.
        out (np.ndarray): (5, sum(counts)) float64 to fill with the
            columns x, y, w, h, score.

    Returns:
        tuple | None: ``(rows, files, 'file:line row')`` of the rows with a
        negative width or height, None if there are none.
    """
    n_lines = np.fromiter((b.count(b'\n') + 1 for b in bodies), np.int64,
                          len(bodies))
    first_line = np.zeros(len(bodies), dtype=np.int64)
    np.cumsum(n_lines[:-1], out=first_line[1:])
    big = b'\n'.join(bodies)
    u8 = np.frombuffer(big, dtype=np.uint8)
    starts, ends = token_bounds(u8)
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
    values, bad_tok = parse_numbers(big, starts, ends)
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
    r = first_overflow(values[0], values[1], values[2], values[3])
    if r >= 0:
        line = int(np.flatnonzero(is_row)[r])
        k, local = _locate(first_line, line)
        raise ValueError(
            f'{paths[k]}:{local + 3}: x + w or y + h overflows to infinity in '
            f'the row {_body_line(bodies[k], local)!r}; boxes must be finite '
            'pixel coordinates')
    out[...] = values
    neg = np.flatnonzero((values[2] < 0) | (values[3] < 0))
    if not neg.size:
        return None
    line = int(np.flatnonzero(is_row)[neg[0]])
    k, local = _locate(first_line, line)
    row_file = np.searchsorted(np.cumsum(counts), neg, side='right')
    return (len(neg), len(np.unique(row_file)),
            f'{paths[k]}:{local + 3} {_body_line(bodies[k], local)!r}')


def first_overflow(x, y, w, h):
    """Index of the first row whose corner ``x + w`` or ``y + h`` (as the
    evaluation computes it) is not finite, -1 if none."""
    with np.errstate(over='ignore', invalid='ignore'):
        ok = np.isfinite(x + w)
        ok &= np.isfinite(y + h)
    return -1 if ok.all() else int(np.flatnonzero(~ok)[0])


def score_range(scores):
    """(min, max) as the port's running min / max (start at 1 and 0)."""
    if scores.size == 0:
        return 1., 0.
    return min(float(scores.min()), 1.), max(float(scores.max()), 0.)


def _warn_extra_files(pred_dir, extra, scores, num_gt_rows):
    """Warn about prediction files of images outside the ground truth:
    not evaluated, but their scores take part in the normalisation."""
    shown = ', '.join(f'{n}.txt' for n in extra[:5]) + \
        (', ...' if len(extra) > 5 else '')
    before = score_range(scores[:num_gt_rows])
    after = score_range(scores)
    if before != after:
        effect = (f'they move the score range of the min-max normalisation '
                  f'from [{before[0]:g}, {before[1]:g}] to '
                  f'[{after[0]:g}, {after[1]:g}], which can change the APs')
    else:
        effect = 'they do not change the score range, nor the APs'
    num_extra = len(scores) - num_gt_rows
    warnings.warn(
        f'{len(extra)} prediction files in {pred_dir} ({num_extra} '
        f'detections) are for images not in the ground truth '
        f'({shown}): they are not evaluated but, as in the reference '
        f'evaluation, their scores take part in the score normalisation; '
        f'{effect}',
        WIDERFaceEvalWarning,
        stacklevel=3)
