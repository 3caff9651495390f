# Copyright (c) mmdet_faces contributors. All rights reserved.
"""WIDER Face evaluation: the official validation ground truth.

:func:`load_widerface_gt` reads the four ``.mat`` files of the official
toolkit (:data:`GT_FILES`) into flat arrays: every face of every image, and
per setting (easy / medium / hard) the mask of the faces that count in it.
"""
import os.path as osp

import numpy as np

#: The settings of the protocol, in the order of the published tables.
WIDERFACE_SETTINGS = ('easy', 'medium', 'hard')
#: ``(key, file name)`` of the ground-truth files in a ``ground_truth/``
#: folder: ``'all'`` (boxes of every face) and one per setting.
GT_FILES = (('all', 'wider_face_val.mat'), ('easy', 'wider_easy_val.mat'),
            ('medium', 'wider_medium_val.mat'), ('hard', 'wider_hard_val.mat'))
_GT_KEYS = ('event_list', 'file_list', 'face_bbx_list')
_SETTING_KEYS = ('gt_list', )


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
            message names the file and the keys expected and found), or
            the setting files do not nest (easy within medium within hard,
            as the official ones: swapped files).
    """
    from scipy.io import loadmat
    if not osp.isdir(gt_dir):
        raise FileNotFoundError(
            f'WIDER Face ground-truth folder not found: {gt_dir}')
    mats = {}
    for key, fname in GT_FILES:
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
    for small, large in zip(WIDERFACE_SETTINGS, WIDERFACE_SETTINGS[1:]):
        outside = int((settings[small] & ~settings[large]).sum())
        if outside:
            raise ValueError(
                f'{mats[small][0]} and {mats[large][0]}: {outside} of the '
                f'{int(settings[small].sum())} {small} faces are not '
                f'{large} faces, but the official files nest (easy within '
                'medium within hard): are the setting files swapped or '
                'renamed?')
    return dict(
        names=names,
        boxes=boxes,
        offsets=offsets,
        settings=settings,
        num_faces=num_faces)
