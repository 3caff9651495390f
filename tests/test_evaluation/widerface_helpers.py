"""Helpers for the WIDER Face evaluation tests: tiny official-layout ground
truth (.mat written with scipy, mimicking ``wider_*_val.mat``), prediction
folders, and random cases."""
import os
import os.path as osp

import numpy as np
from scipy.io import savemat

SETTINGS = ('easy', 'medium', 'hard')


def _cell(items):
    """A MATLAB cell column (an (n, 1) object array)."""
    out = np.empty((len(items), 1), dtype=object)
    for i, x in enumerate(items):
        out[i, 0] = x
    return out


def write_widerface_gt(gt_dir, images):
    """Write the four WIDER Face val .mat files.

    Args:
        gt_dir (str): Output folder.
        images (list[tuple]): ``(event, name, boxes, settings)`` per image,
            grouped by event in order: ``boxes`` (k, 4) ``x y w h`` and
            ``settings`` a dict ``easy/medium/hard -> 0-based face indices``.

    Returns:
        str: ``gt_dir``.
    """
    os.makedirs(gt_dir, exist_ok=True)
    events = []
    for event, name, boxes, settings in images:
        if not events or events[-1][0] != event:
            events.append((event, []))
        events[-1][1].append((name, boxes, settings))
    event_list = _cell([np.array([e]) for e, _ in events])
    file_list = _cell(
        [_cell([np.array([n]) for n, _, _ in imgs]) for _, imgs in events])
    bbx_list = _cell([
        _cell(
            [np.asarray(b, dtype=np.int32).reshape(-1, 4) for _, b, _ in imgs])
        for _, imgs in events
    ])
    base = dict(
        event_list=event_list, file_list=file_list, face_bbx_list=bbx_list)
    savemat(osp.join(gt_dir, 'wider_face_val.mat'), base)
    for setting in SETTINGS:
        gt_list = _cell([
            _cell([(np.asarray(sorted(s.get(setting, ())), dtype=np.uint16) +
                    1).reshape(-1, 1) for _, _, s in imgs])
            for _, imgs in events
        ])
        savemat(
            osp.join(gt_dir, f'wider_{setting}_val.mat'),
            dict(base, gt_list=gt_list))
    return gt_dir


def write_preds(pred_dir, preds, name_line=None):
    """Write ``{'event/name': (N, 5) x y w h score}`` in the official
    layout, with ``repr`` numbers (exact round trip)."""
    for key, rows in preds.items():
        event, name = key.split('/')
        os.makedirs(osp.join(pred_dir, event), exist_ok=True)
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
        with open(osp.join(pred_dir, event, name + '.txt'), 'w') as f:
            f.write(f'{name if name_line is None else name_line}\n')
            f.write(f'{len(rows)}\n')
            for r in rows:
                f.write(' '.join(repr(float(v)) for v in r) + '\n')
    return pred_dir


def random_case(rng, n_events=3, max_images=4, max_faces=7, max_preds=14):
    """A random ground truth + predictions with many exact ties, IoUs near
    0.5, duplicates, don't-care faces, empty images and unsorted rows.

    Returns:
        tuple[list, dict]: ``images`` for :func:`write_widerface_gt` and
        predictions ``{'event/name': (N, 5)}``.
    """
    images, preds = [], {}
    for e in range(n_events):
        event = f'{e}--Event{e}'
        for i in range(int(rng.integers(1, max_images + 1))):
            name = f'{e}_Event{e}_img_{i}'
            k = int(rng.integers(0, max_faces + 1))
            xy = rng.integers(0, 40, (k, 2)) * 2
            wh = rng.integers(1, 12, (k, 2)) * 2
            if k > 2 and rng.random() < 0.5:  # two identical faces
                xy[1], wh[1] = xy[0], wh[0]
            boxes = np.concatenate([xy, wh], 1)
            hard = [j for j in range(k) if rng.random() < 0.8]
            medium = [j for j in hard if rng.random() < 0.7]
            easy = [j for j in medium if rng.random() < 0.6]
            images.append(
                (event, name, boxes, dict(easy=easy, medium=medium,
                                          hard=hard)))
            n = int(rng.integers(0, max_preds + 1))
            rows = []
            for _ in range(n):
                if k and rng.random() < 0.7:
                    b = boxes[rng.integers(k)].astype(np.float64).copy()
                    r = rng.random()
                    if r < 0.3:  # shrink to an IoU near 0.5
                        b[3] = np.round(b[3] * rng.choice([0.5, 0.45, 0.6]))
                    elif r < 0.7:
                        b[:2] += rng.integers(-3, 4, 2)
                        b[2:] += rng.integers(-2, 3, 2)
                else:
                    b = np.r_[rng.integers(0, 80, 2),
                              rng.integers(1, 25, 2)].astype(np.float64)
                score = float(rng.choice([0.9, 0.5, 0.25, 0.1])) if \
                    rng.random() < 0.3 else float(np.round(rng.random(), 3))
                rows.append(np.r_[b, score])
            preds[f'{event}/{name}'] = np.array(rows).reshape(-1, 5)
    return images, preds
