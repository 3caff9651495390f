"""Fast readers and writers for WIDER Face annotation files.

Three formats (see ``docs/design.md``):

- ``retinaface``: ``label.txt`` of RetinaFace: ``# <event>/<name>.jpg``
  headers, then one line per face with 20 numbers
  ``x y w h  l0x l0y f0 ... l4x l4y f4  blur`` (all landmark numbers -1 = no
  landmarks) or 4 numbers ``x y w h``.
- ``official``: ``wider_face_{train,val}_bbx_gt.txt``: image path, face count,
  then one row per face ``x y w h blur expression illumination invalid
  occlusion pose`` (an image with 0 faces is followed by one row of zeros).
- ``list``: one image path per line (``wider_val.txt``; a leading ``/`` is
  allowed), no boxes.

Parsing is vectorised: the whole file is scanned once with numpy to count the
tokens of every line, all numbers are converted at once
(:func:`~mmdet_faces.utils.parse_numbers`, exact to Python's ``float``) and
faces are grouped by offsets, so the full WIDER train annotations (12,880
images, ~160k faces) parse in a fraction of a second. Malformed input
raises ``ValueError('<file>, line <n>: ...')``.
A leading UTF-8 byte order mark is ignored. Image paths must be UTF-8. An
image listed more than once is kept each time, with one
:class:`WiderAnnotationWarning` that counts them (also in
``WiderAnnotations.extra['num_duplicate_images']``).
"""
import math
import os
import os.path as osp
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils import parse_numbers

#: Attribute names of the official split files, in column order.
ATTRIBUTE_NAMES = ('blur', 'expression', 'illumination', 'invalid',
                   'occlusion', 'pose')
ANN_FORMATS = ('retinaface', 'official', 'list')
NUM_LANDMARKS = 5
_BOM = b'\xef\xbb\xbf'
# what a number may look like (numpy's parser and C's strtod agree on these;
# Python's float() also takes '1_0' or non-ASCII digits)
_NUMBER_RE = re.compile(r'[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?', re.ASCII)
_NUMBER_BYTES_RE = re.compile(_NUMBER_RE.pattern.encode())

# image paths a reader would not give back: control characters (line
# breaks) or blanks at an end, and for one-token formats any blank
_BAD_NAME_BLANKS_OK = re.compile(r'[\x00-\x1f]|^\s|\s$')
_BAD_NAME = re.compile(r'[\x00-\x20]|^\s|\s$')
_BLANK = re.compile(r'[^\S\n]')  # whitespace but a line feed


class WiderAnnotationWarning(UserWarning):
    """Input that is accepted but probably not what was meant (e.g. an
    image listed twice)."""


@dataclass
class WiderAnnotations:
    """Parsed annotations of one file, stored as flat arrays.

    Faces of image ``i`` are rows ``offsets[i]:offsets[i + 1]``.

    Attributes:
        img_names (list[str]): image paths relative to the image folder,
            e.g. ``'0--Parade/0_Parade_marchingband_1_849.jpg'``.
        offsets (np.ndarray): (M + 1,) int64 face offsets.
        bboxes (np.ndarray): (F, 4) float64 ``x y w h`` as in the file.
        landmarks (np.ndarray): (F, 5, 3) float64 ``x y flag``; -1 where the
            file has none (official format: all -1).
        attributes (dict[str, np.ndarray]): (F,) float64 per name in
            ``ATTRIBUTE_NAMES``; -1 = unknown. RetinaFace files give only
            ``blur`` (their 20th number).
        line_numbers (np.ndarray): (F,) int64 1-based line of each face.
        ann_file (str): source path.
        ann_format (str): one of ``ANN_FORMATS``.
        extra (dict): ``num_duplicate_images``: how many listings repeat an
            image listed before (0 if none).
    """
    img_names: List[str]
    offsets: np.ndarray
    bboxes: np.ndarray
    landmarks: np.ndarray
    attributes: Dict[str, np.ndarray]
    line_numbers: np.ndarray
    ann_file: str = ''
    ann_format: str = ''
    extra: dict = field(default_factory=dict)

    @property
    def num_images(self) -> int:
        return len(self.img_names)

    @property
    def num_faces(self) -> int:
        return int(self.bboxes.shape[0])

    def faces_of(self, i: int) -> slice:
        """Row slice of image ``i``."""
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    @property
    def has_landmarks(self) -> np.ndarray:
        """(F,) bool: the face has at least one labelled landmark."""
        return landmarks_labelled(self.landmarks).any(axis=1)


def landmarks_labelled(landmarks: np.ndarray) -> np.ndarray:
    """(F, 5) bool: a point is labelled unless its x and y are both -1."""
    return ~((landmarks[..., 0] == -1) & (landmarks[..., 1] == -1))


def _empty(ann_file: str,
           ann_format: str,
           img_names: Optional[List[str]] = None) -> WiderAnnotations:
    img_names = img_names or []
    return WiderAnnotations(
        img_names=img_names,
        offsets=np.zeros(len(img_names) + 1, dtype=np.int64),
        bboxes=np.zeros((0, 4)),
        landmarks=np.full((0, NUM_LANDMARKS, 3), -1.0),
        attributes={k: np.zeros(0)
                    for k in ATTRIBUTE_NAMES},
        line_numbers=np.zeros(0, dtype=np.int64),
        ann_file=ann_file,
        ann_format=ann_format)


class _Lines:
    """Token statistics of every line of a text file, computed with numpy.

    Lines are split on ``\\n`` (a ``\\r`` counts as whitespace); any byte
    <= 32 is whitespace. A leading UTF-8 byte order mark is dropped.
    """

    def __init__(self, path: str, raw: Optional[bytes] = None):
        self.path = path
        if raw is None:
            with open(path, 'rb') as f:
                raw = f.read()
        if raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        self.raw = raw
        buf = np.frombuffer(raw, dtype=np.uint8)
        self.newlines = np.flatnonzero(buf == 10)
        self.num_lines = len(self.newlines) + 1
        self.starts = np.concatenate([[0], self.newlines + 1])
        self.ends = np.concatenate([self.newlines, [len(buf)]])
        ws = buf <= 32
        tok = ~ws
        tok[1:] &= ws[:-1]
        self.tok_pos = np.flatnonzero(tok)
        # tokens of line i: tok_pos[first_tok[i]:first_tok[i] + ntok[i]]
        first_tok = np.searchsorted(self.tok_pos, self.starts)
        self.ntok = np.diff(np.concatenate([first_tok, [len(self.tok_pos)]
                                            ])).astype(np.int64)
        self.first_char = np.zeros(self.num_lines, dtype=np.uint8)
        has_tok = self.ntok > 0
        self.first_char[has_tok] = buf[self.tok_pos[first_tok[has_tok]]]

    def text(self, i: int) -> str:
        """Stripped text of line ``i`` (0-based)."""
        return self.raw[self.starts[i]:self.ends[i]].decode(
            'utf-8', errors='replace').strip()

    def name(self, i: int, start: int = 0) -> str:
        """Stripped UTF-8 text of line ``i`` from byte ``start`` on (an
        image path); ``ValueError`` naming the line if it is not UTF-8."""
        begin = self.starts[i] + start if start else self.starts[i]
        data = self.raw[begin:self.ends[i]]
        try:
            return data.decode('utf-8').strip()
        except UnicodeDecodeError as e:
            raise self.error(
                i, f'the image path {data.strip()[:80]!r} is not UTF-8 text '
                f'({e.reason} at byte {e.start}); save the file as '
                'UTF-8') from None

    def error(self, i: int, msg: str) -> ValueError:
        """ValueError naming the file and the 1-based line ``i + 1``."""
        return ValueError(f'{self.path}, line {i + 1}: {msg}')

    def parse_numbers(self, lines: np.ndarray, seg_starts: np.ndarray,
                      seg_ends: np.ndarray) -> np.ndarray:
        """Parse all numbers of ``lines`` (sorted 0-based indices).

        The lines must be exactly the token-carrying lines inside the byte
        ranges ``[seg_starts, seg_ends)``. Raises ``ValueError`` naming the
        first line with a token that is not a finite number.
        """
        expected = int(self.ntok[lines].sum())
        raw = self.raw
        data = b'\n'.join(
            [raw[s:e] for s, e in zip(seg_starts.tolist(), seg_ends.tolist())])
        values, bad = parse_numbers(data, pattern=_NUMBER_BYTES_RE)
        if bad < 0 and values.size == expected and np.isfinite(values).all():
            return values
        # slow path, only to name the offending line
        for i in lines.tolist():
            for token in self.text(i).split():
                try:
                    value = float(token)
                except ValueError:
                    value = None
                if value is not None and not math.isfinite(value):
                    raise self.error(i, f'{token!r} is not a finite number')
                if value is None or not _NUMBER_RE.fullmatch(token):
                    # e.g. 'x', '1.2.3', '1_0' (Python's float takes it)
                    raise self.error(i, f'{token!r} is not a number')
        raise ValueError(f'{self.path}: could not parse the numbers '
                         f'(expected {expected} values)')


def _gather(values: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Rows ``values[s:s + width]`` for every ``s`` in ``starts``."""
    if len(starts) == 0:
        return np.zeros((0, width))
    return values[starts[:, None] + np.arange(width)]


def parse_retinaface_labels(path: str,
                            raw: Optional[bytes] = None) -> WiderAnnotations:
    """Parse a RetinaFace ``label.txt``.

    Args:
        path (str): the file.
        raw (bytes, optional): its content, if already read.

    Returns:
        WiderAnnotations: with landmarks and the ``blur`` attribute (-1 on
        4-number lines).
    """
    lines = _Lines(path, raw)
    has_tok = lines.ntok > 0
    headers = np.flatnonzero(has_tok & (lines.first_char == ord('#')))
    faces = np.flatnonzero(has_tok & (lines.first_char != ord('#')))
    if len(headers) == 0:
        if len(faces):
            raise lines.error(
                int(faces[0]), 'expected a "# <event>/<name>.jpg" header')
        return _empty(path, 'retinaface')
    if len(faces) and faces[0] < headers[0]:
        raise lines.error(
            int(faces[0]), 'face line before the first "# <image>" header')
    ntok = lines.ntok[faces]
    bad = np.flatnonzero((ntok != 4) & (ntok != 20))
    if len(bad):
        i = int(faces[bad[0]])
        raise lines.error(
            i, f'expected 4 or 20 numbers (x y w h [5 x (lx ly flag) blur]), '
            f'got {int(lines.ntok[i])}')

    img_names = _header_names(lines, headers)

    # the numbers lie between consecutive headers
    seg_starts = lines.ends[headers]
    seg_ends = np.concatenate([lines.starts[headers[1:]], [len(lines.raw)]])
    values = lines.parse_numbers(faces, seg_starts, seg_ends)

    starts = np.concatenate([[0], np.cumsum(ntok)[:-1]]).astype(np.int64)
    num_faces = len(faces)
    bboxes = _gather(values, starts, 4)
    landmarks = np.full((num_faces, NUM_LANDMARKS, 3), -1.0)
    blur = np.full(num_faces, -1.0)
    full = np.flatnonzero(ntok == 20)
    if len(full):
        rows = _gather(values, starts[full], 20)
        landmarks[full] = rows[:, 4:19].reshape(-1, NUM_LANDMARKS, 3)
        blur[full] = rows[:, 19]
    img_of_face = np.searchsorted(headers, faces) - 1
    counts = np.bincount(img_of_face, minlength=len(headers))
    attributes = {k: np.full(num_faces, -1.0) for k in ATTRIBUTE_NAMES}
    attributes['blur'] = blur
    extra = _check_duplicates(path, img_names, headers)
    return WiderAnnotations(
        img_names=img_names,
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        bboxes=bboxes,
        landmarks=landmarks,
        attributes=attributes,
        line_numbers=faces.astype(np.int64) + 1,
        ann_file=path,
        ann_format='retinaface',
        extra=extra)


def _header_names(lines: _Lines, headers: np.ndarray) -> List[str]:
    """Image paths of the ``# <path>`` header lines: the rest of the line
    after ``#`` (a path may hold blanks), without the trailing ``<width>
    <height>`` of SCRFD's label.txt. Decoded in one call."""
    hash_pos = lines.tok_pos[np.searchsorted(lines.tok_pos,
                                             lines.starts[headers])]
    raw = lines.raw
    chunks = [
        raw[b:e]
        for b, e in zip((hash_pos + 1).tolist(), lines.ends[headers].tolist())
    ]
    try:
        names = b'\n'.join(chunks).decode('utf-8').split('\n')
    except UnicodeDecodeError:
        for i, pos in zip(headers.tolist(), hash_pos.tolist()):
            lines.name(i, pos + 1 - int(lines.starts[i]))  # names the line
        raise ValueError(f'{lines.path}: image paths are not UTF-8 text')
    names = [n.strip() for n in names]
    if '' in names:
        raise lines.error(
            int(headers[names.index('')]), 'header "#" without an image path')
    if _BLANK.search('\n'.join(names)):  # rare: blanks inside a path
        for k, name in enumerate(names):
            tokens = name.split()
            if len(tokens) >= 3 and tokens[-1].isdigit() and \
                    tokens[-2].isdigit():
                name = name[:len(name) - len(tokens[-1])].rstrip()
                names[k] = name[:len(name) - len(tokens[-2])].rstrip()
    return names


def _parse_int(lines: _Lines, i: int, what: str) -> int:
    text = lines.text(i)
    # the number pattern of the face rows (float() would also take 'nan',
    # 'inf' and '1_0'); a huge exponent still overflows to inf
    value = float(text) if _NUMBER_RE.fullmatch(text) else None
    if value is None or not math.isfinite(value) or \
            value != int(value) or value < 0:
        raise lines.error(
            i, f'expected {what} (an integer >= 0), '
            f'got {text!r}')
    return int(value)


def parse_official_labels(path: str,
                          raw: Optional[bytes] = None) -> WiderAnnotations:
    """Parse an official ``wider_face_*_bbx_gt.txt`` split file.

    Args:
        path (str): the file.
        raw (bytes, optional): its content, if already read.

    Returns:
        WiderAnnotations: with the six attributes; no landmarks (all -1).
    """
    lines = _Lines(path, raw)
    nonblank = np.flatnonzero(lines.ntok > 0)
    nb_ntok = lines.ntok[nonblank]
    n = len(nonblank)
    img_names, counts, row_first = [], [], []
    k = 0
    # walk image by image (a Python loop over images, not faces)
    while k < n:
        i = int(nonblank[k])
        if nb_ntok[k] != 1:
            hint = ''
            if img_names:
                hint = (f'; the face count {counts[-1]} of image '
                        f'{img_names[-1]!r} at line '
                        f'{int(nonblank[row_first[-1] - 1]) + 1} disagrees '
                        'with the rows that follow')
            raise lines.error(
                i, f'expected an image path, got {int(nb_ntok[k])} '
                f'values{hint}')
        name = lines.name(i)
        if k + 1 >= n:
            raise lines.error(
                i, f'file ends after image path {name!r}: expected the face '
                'count on the next line')
        count_line = int(nonblank[k + 1])
        count = _parse_int(lines, count_line, 'the face count')
        rows = count
        if count == 0 and k + 2 < n and nb_ntok[k + 2] == 10:
            rows = 1  # official files follow a 0 count with a row of zeros
        if k + 2 + rows > n:
            raise lines.error(
                count_line, f'file ends early: image {name!r} declares '
                f'{count} faces but only {n - k - 2} rows follow')
        row_ntok = nb_ntok[k + 2:k + 2 + rows]
        if rows and (row_ntok != 10).any():
            j = k + 2 + int(np.flatnonzero(row_ntok != 10)[0])
            raise lines.error(
                int(nonblank[j]),
                f'expected 10 values (x y w h blur expression illumination '
                f'invalid occlusion pose), got {int(nb_ntok[j])}; image '
                f'{name!r} declares {count} faces at line {count_line + 1}')
        img_names.append(name)
        counts.append(count)
        row_first.append(k + 2)
        k += 2 + rows

    counts = np.asarray(counts, dtype=np.int64)
    row_first = np.asarray(row_first, dtype=np.int64)
    with_faces = np.flatnonzero(counts > 0)
    first_line = nonblank[row_first[with_faces]]
    last_line = nonblank[row_first[with_faces] + counts[with_faces] - 1]
    face_lines = np.concatenate([
        nonblank[f:f + c] for f, c in zip(row_first[with_faces].tolist(),
                                          counts[with_faces].tolist())
    ]) if len(with_faces) else np.zeros(
        0, dtype=np.int64)
    values = lines.parse_numbers(face_lines, lines.starts[first_line],
                                 lines.ends[last_line])
    values = values.reshape(-1, 10)
    num_faces = len(values)
    extra = _check_duplicates(path, img_names, nonblank[row_first - 2])
    return WiderAnnotations(
        img_names=img_names,
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        bboxes=values[:, :4].copy(),
        landmarks=np.full((num_faces, NUM_LANDMARKS, 3), -1.0),
        attributes={
            k: values[:, 4 + j].copy()
            for j, k in enumerate(ATTRIBUTE_NAMES)
        },
        line_numbers=face_lines.astype(np.int64) + 1,
        ann_file=path,
        ann_format='official',
        extra=extra)


def parse_image_list(path: str,
                     raw: Optional[bytes] = None) -> WiderAnnotations:
    """Parse an image list (``wider_val.txt``): one path per line.

    A leading ``/`` (biubug6 style) is removed. The result has no faces.
    """
    lines = _Lines(path, raw)
    nonblank = np.flatnonzero(lines.ntok > 0)
    bad = np.flatnonzero(lines.ntok[nonblank] != 1)
    if len(bad):
        i = int(nonblank[bad[0]])
        raise lines.error(
            i, f'expected one image path per line, got '
            f'{int(lines.ntok[i])} values')
    try:
        names = lines.raw.decode('utf-8').split('\n')
    except UnicodeDecodeError as e:
        i = int(np.searchsorted(lines.newlines, e.start))
        lines.name(i)  # raises, naming the line
        raise ValueError(f'{path}: not UTF-8 text ({e})') from None
    img_names = [names[i].strip().lstrip('/') for i in nonblank.tolist()]
    ann = _empty(path, 'list', img_names)
    ann.extra = _check_duplicates(path, img_names, nonblank)
    return ann


def _check_duplicates(path: str, img_names: List[str],
                      name_lines: np.ndarray) -> dict:
    """``extra`` of the annotations; warn once if an image is listed more
    than once (each listing stays a separate image).

    Args:
        path (str): the file (for the message).
        img_names (list[str]): image paths in file order.
        name_lines (np.ndarray): 0-based line of each path.
    """
    unique = set(img_names)
    num_dup = len(img_names) - len(unique)
    if num_dup:
        seen = {}
        for k, name in enumerate(img_names):
            if name in seen:
                break
            seen[name] = k
        first = int(name_lines[seen[name]]) + 1
        again = int(name_lines[k]) + 1
        warnings.warn(
            f'{path}: {num_dup} duplicated image listing(s) (first: '
            f'{name!r} at lines {first} and {again}); each listing is kept '
            'as a separate image',
            WiderAnnotationWarning,
            stacklevel=4)
    return dict(num_duplicate_images=num_dup)


def detect_format(path: str, raw: Optional[bytes] = None) -> str:
    """Guess the annotation format from the first two non-blank lines.

    ``#`` first -> 'retinaface'; a path then an integer -> 'official';
    otherwise 'list'.
    """
    if raw is None:
        with open(path, 'rb') as f:
            raw = f.read(1 << 16)
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    first = []
    for line in raw.split(b'\n'):
        line = line.strip()
        if line:
            first.append(line)
        if len(first) == 2:
            break
    if not first:
        raise ValueError(f'{path}: empty annotation file')
    if first[0].startswith(b'#'):
        return 'retinaface'
    if len(first) == 2 and len(first[0].split()) == 1:
        try:
            int(first[1])
            return 'official'
        except ValueError:
            pass
    return 'list'


def load_wider_annotations(path: str,
                           ann_format: str = 'auto') -> WiderAnnotations:
    """Read ``path`` in ``ann_format`` ('auto' detects it).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: unknown format or malformed content (names the line).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    with open(path, 'rb') as f:
        raw = f.read()
    if ann_format == 'auto':
        ann_format = detect_format(path, raw)
    if ann_format == 'retinaface':
        return parse_retinaface_labels(path, raw)
    if ann_format == 'official':
        return parse_official_labels(path, raw)
    if ann_format == 'list':
        return parse_image_list(path, raw)
    raise ValueError(f'ann_format must be "auto" or one of {ANN_FORMATS}, '
                     f'got {ann_format!r}')


# ----------------------------------------------------------------------------
# writers
def _fmt(values: np.ndarray) -> List[str]:
    """Shortest exact text of each number (integers without '.0')."""
    out = []
    for v in np.asarray(values, dtype=np.float64).ravel().tolist():
        out.append(str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(v))
    return out


def _fmt_landmark(values: np.ndarray) -> List[str]:
    """Like :func:`_fmt` but keeps RetinaFace's ``-1.0`` / ``0.0`` style."""
    out = []
    for v in np.asarray(values, dtype=np.float64).ravel().tolist():
        out.append(repr(float(v)))
    return out


def write_retinaface_labels(path: str, ann: WiderAnnotations) -> None:
    """Write ``ann`` as a RetinaFace ``label.txt`` (20 numbers per face).

    Faces without landmarks get -1 for all 15 landmark numbers; the 20th
    number is the ``blur`` attribute (-1 when unknown).
    """
    _check_names(path, ann.img_names, blanks=True)
    blur = ann.attributes.get('blur', np.full(ann.num_faces, -1.0))
    out = []
    for i, name in enumerate(ann.img_names):
        out.append(f'# {name}')
        for j in range(*ann.faces_of(i).indices(ann.num_faces)):
            out.append(' '.join(
                _fmt(ann.bboxes[j]) + _fmt_landmark(ann.landmarks[j]) +
                _fmt_landmark([blur[j]])))
    _write_lines(path, out)


def write_official_labels(path: str, ann: WiderAnnotations) -> None:
    """Write ``ann`` in the official split format (10 columns per face).

    Unknown attributes (-1) are written as 0; ``blur`` is kept only when it
    is one of the official values 0, 1, 2. Images without faces get a count
    of 0 and a row of zeros, as in the official files.
    """
    _check_names(path, ann.img_names, blanks=False)
    attrs = []
    for k in ATTRIBUTE_NAMES:
        a = np.asarray(
            ann.attributes.get(k, np.full(ann.num_faces, -1.0)),
            dtype=np.float64)
        valid = (a >= 0) & (a == np.round(a))
        if k == 'blur':
            valid &= a <= 2
        attrs.append(np.where(valid, a, 0.0))
    attrs = np.stack(attrs, axis=1) if ann.num_faces else np.zeros((0, 6))
    out = []
    for i, name in enumerate(ann.img_names):
        sl = ann.faces_of(i)
        rows = list(range(*sl.indices(ann.num_faces)))
        out.append(name)
        out.append(str(len(rows)))
        if not rows:
            out.append('0 0 0 0 0 0 0 0 0 0 ')
        for j in rows:
            out.append(' '.join(_fmt(ann.bboxes[j]) + _fmt(attrs[j])) + ' ')
    _write_lines(path, out)


def write_image_list(path: str,
                     img_names: Sequence[str],
                     leading_slash: bool = True) -> None:
    """Write one image path per line (``/event/name.jpg`` by default)."""
    _check_names(path, img_names, blanks=False)
    prefix = '/' if leading_slash else ''
    _write_lines(path, [prefix + n.lstrip('/') for n in img_names])


def _check_names(path: str, img_names: Sequence[str], blanks: bool) -> None:
    """Raise ``ValueError`` (count and first name) before writing image
    paths that the readers would not give back: with blanks (the official
    format and image lists read one token per path) or control characters
    such as line breaks (any format)."""
    pattern = _BAD_NAME_BLANKS_OK if blanks else _BAD_NAME
    bad = [n for n in img_names if pattern.search(n)]
    if bad:
        what = ('leading / trailing blanks or control characters'
                if blanks else 'blanks or control characters')
        raise ValueError(
            f'{path}: {len(bad)} image paths contain {what}, which this '
            f'format cannot hold (first: {bad[0]!r}); rename those images')


def _write_lines(path: str, lines: List[str]) -> None:
    """Write ``lines`` to ``path`` through a temporary file renamed over
    it: an interrupted write leaves no partial file (and an old one
    intact)."""
    d, name = osp.split(osp.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = osp.join(d, f'.{name}.tmp-{os.getpid()}')
    try:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines))
            if lines:
                f.write('\n')
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


__all__ = [
    'ATTRIBUTE_NAMES', 'ANN_FORMATS', 'WiderAnnotations',
    'WiderAnnotationWarning', 'landmarks_labelled', 'parse_retinaface_labels',
    'parse_official_labels', 'parse_image_list', 'detect_format',
    'load_wider_annotations', 'write_retinaface_labels',
    'write_official_labels', 'write_image_list'
]
