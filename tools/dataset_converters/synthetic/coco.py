# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Generator of a tiny synthetic COCO-format detection set.

Drawn shapes (person, car, stop sign, dog, sports ball) labelled with the
official COCO category ids, laid out as mmdet's stock COCO configs expect
under ``data_root``::

    annotations/instances_train2017.json
    annotations/instances_val2017.json
    train2017/000000000001.jpg ...
    val2017/...

It is meant for RetinaNet smoke tests, not for accuracy. Needs neither
mmdet nor :mod:`mmdet_faces`: only numpy and OpenCV.
"""
import json
import math
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from . import utils as su

GENERATOR_NAME = 'mmdet_faces.synthetic_coco'
_CLI_DESCRIPTION = (
    'Generate a tiny synthetic COCO-format detection set (train2017/, '
    'val2017/, annotations/instances_*2017.json).')

# The 80 COCO detection categories with their official ids.
COCO_CATEGORIES = (
    (1, 'person', 'person'), (2, 'bicycle', 'vehicle'), (3, 'car', 'vehicle'),
    (4, 'motorcycle',
     'vehicle'), (5, 'airplane',
                  'vehicle'), (6, 'bus', 'vehicle'), (7, 'train',
                                                      'vehicle'),
    (8, 'truck',
     'vehicle'), (9, 'boat', 'vehicle'), (10, 'traffic light',
                                          'outdoor'), (11, 'fire hydrant',
                                                       'outdoor'),
    (13, 'stop sign',
     'outdoor'), (14, 'parking meter',
                  'outdoor'), (15, 'bench', 'outdoor'), (16, 'bird', 'animal'),
    (17, 'cat', 'animal'), (18, 'dog',
                            'animal'), (19, 'horse',
                                        'animal'), (20, 'sheep',
                                                    'animal'),
    (21, 'cow',
     'animal'), (22, 'elephant', 'animal'), (23, 'bear', 'animal'),
    (24, 'zebra',
     'animal'), (25, 'giraffe',
                 'animal'), (27, 'backpack',
                             'accessory'), (28, 'umbrella',
                                            'accessory'), (31, 'handbag',
                                                           'accessory'),
    (32, 'tie', 'accessory'), (33, 'suitcase',
                               'accessory'),
    (34, 'frisbee',
     'sports'), (35, 'skis',
                 'sports'), (36, 'snowboard', 'sports'), (37, 'sports ball',
                                                          'sports'),
    (38, 'kite', 'sports'), (39, 'baseball bat',
                             'sports'), (40, 'baseball glove', 'sports'),
    (41, 'skateboard',
     'sports'), (42, 'surfboard', 'sports'), (43, 'tennis racket', 'sports'),
    (44, 'bottle', 'kitchen'), (46, 'wine glass', 'kitchen'),
    (47, 'cup',
     'kitchen'), (48, 'fork', 'kitchen'), (49, 'knife', 'kitchen'),
    (50, 'spoon', 'kitchen'), (51, 'bowl', 'kitchen'), (52, 'banana', 'food'),
    (53, 'apple', 'food'), (54, 'sandwich', 'food'), (55, 'orange', 'food'),
    (56, 'broccoli',
     'food'), (57, 'carrot',
               'food'), (58, 'hot dog',
                         'food'), (59, 'pizza', 'food'), (60,
                                                          'donut', 'food'),
    (61, 'cake', 'food'), (62, 'chair',
                           'furniture'), (63, 'couch',
                                          'furniture'), (64, 'potted plant',
                                                         'furniture'),
    (65, 'bed', 'furniture'), (67, 'dining table',
                               'furniture'), (70, 'toilet',
                                              'furniture'), (72, 'tv',
                                                             'electronic'),
    (73, 'laptop', 'electronic'), (74, 'mouse', 'electronic'), (75, 'remote',
                                                                'electronic'),
    (76, 'keyboard',
     'electronic'), (77, 'cell phone',
                     'electronic'), (78, 'microwave',
                                     'appliance'), (79, 'oven', 'appliance'),
    (80, 'toaster',
     'appliance'), (81, 'sink',
                    'appliance'), (82, 'refrigerator',
                                   'appliance'), (84, 'book',
                                                  'indoor'), (85, 'clock',
                                                              'indoor'),
    (86, 'vase',
     'indoor'), (87, 'scissors',
                 'indoor'), (88, 'teddy bear',
                             'indoor'), (89, 'hair drier',
                                         'indoor'), (90, 'toothbrush',
                                                     'indoor'))

# Category ids of the drawn shapes.
DRAWN_CATEGORIES = (1, 3, 13, 18, 37)


def _color(rng: np.random.Generator,
           lo: int = 0,
           hi: int = 256) -> Tuple[int, int, int]:
    c = rng.integers(lo, hi, 3)
    return (int(c[0]), int(c[1]), int(c[2]))


def _draw_object(rng: np.random.Generator, img: np.ndarray, cat_id: int,
                 box: Tuple[float, float, float, float]):
    """Draw a shape of category ``cat_id`` filling ``box`` (x1, y1, x2, y2)
    exactly (every drawn pixel lies inside, every side is touched)."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    w, h = x2 - x1, y2 - y1
    if cat_id == 1:  # person: head, body, legs
        hr = max(w // 4, 1)
        cx = x1 + w // 2
        cv2.circle(img, (cx, y1 + hr), hr, _color(rng, 120, 256), -1)
        cv2.rectangle(img, (x1, y1 + 2 * hr), (x2 - 1, y1 + int(h * 0.65)),
                      _color(rng), -1)
        leg = max(w // 3, 1)
        cv2.rectangle(img, (x1 + w // 8, y1 + int(h * 0.65)),
                      (x1 + w // 8 + leg, y2 - 1), _color(rng, 0, 120), -1)
        cv2.rectangle(img, (x2 - 1 - w // 8 - leg, y1 + int(h * 0.65)),
                      (x2 - 1 - w // 8, y2 - 1), _color(rng, 0, 120), -1)
    elif cat_id == 3:  # car: body, cabin, wheels
        color = _color(rng)
        cv2.rectangle(img, (x1, y1 + int(h * 0.35)),
                      (x2 - 1, y1 + int(h * 0.8)), color, -1)
        cv2.rectangle(img, (x1 + w // 4, y1),
                      (x2 - 1 - w // 4, y1 + int(h * 0.4)), color, -1)
        r = max(int(h * 0.2), 1)
        for wx in (x1 + w // 4, x2 - 1 - w // 4):
            cv2.circle(img, (wx, y2 - 1 - r), r, (20, 20, 20), -1)
    elif cat_id == 13:  # stop sign: red octagon with a white rim
        c = np.array([x1 + (w - 1) / 2, y1 + (h - 1) / 2])
        t = np.arange(8) * math.pi / 4 + math.pi / 8
        s = np.array([(w - 1) / 2, (h - 1) / 2]) / math.cos(math.pi / 8)
        pts = c + np.stack([np.cos(t), np.sin(t)], 1) * s
        pts = np.clip(pts, [x1, y1], [x2 - 1, y2 - 1]).round().astype(np.int32)
        cv2.fillPoly(img, [pts], (240, 240, 240))
        inner = (c + (pts - c) * 0.85).round().astype(np.int32)
        cv2.fillPoly(img, [inner], (30, 30, 200))
    elif cat_id == 18:  # dog: body, legs, head
        color = _color(rng, 40, 200)
        cv2.ellipse(img, (x1 + int(w * 0.45), y1 + int(h * 0.5)),
                    (max(int(w * 0.35), 1), max(int(h * 0.2), 1)), 0, 0, 360,
                    color, -1)
        for lx in (x1 + int(w * 0.2), x1 + int(w * 0.65)):
            cv2.rectangle(img, (lx, y1 + int(h * 0.5)),
                          (lx + max(w // 10, 1), y2 - 1), color, -1)
        hr = max(int(min(w, h) * 0.2), 1)
        cv2.circle(img, (x2 - 1 - hr, y1 + hr), hr, color, -1)
        cv2.rectangle(img, (x1, y1 + int(h * 0.35)),
                      (x1 + max(w // 8, 1), y1 + int(h * 0.45)), color, -1)
    else:  # sports ball
        r = max((min(w, h) - 1) // 2, 1)
        c = (x1 + r, y1 + r)
        cv2.circle(img, c, r, (245, 245, 245), -1)
        cv2.circle(img, c, max(r // 3, 1), (20, 20, 20), -1)


def _object_size(rng: np.random.Generator, cat_id: int,
                 scale: float) -> Tuple[float, float]:
    """Width and height of an object of ``cat_id``."""
    s = math.exp(rng.uniform(math.log(24 * scale + 8), math.log(140 * scale)))
    aspect = {1: 0.45, 3: 1.8, 13: 1.0, 18: 1.4, 37: 1.0}[cat_id]
    if cat_id in (13, 37):
        return s, s
    aspect *= rng.uniform(0.85, 1.15)
    return s * math.sqrt(aspect), s / math.sqrt(aspect)


def _render(rng: np.random.Generator,
            max_size: int) -> Tuple[np.ndarray, List[Tuple[int, list]]]:
    """One image (uint8 BGR) with ``(category_id, [x, y, w, h])`` objects."""
    long_side = int(round(rng.uniform(0.6, 1.0) * max_size))
    short_side = max(int(round(long_side / rng.uniform(1.0, 1.6))), 48)
    w, h = (long_side, short_side) if rng.random() < 0.7 else (short_side,
                                                               long_side)
    c1, c2 = np.array(_color(rng, 60, 200),
                      np.float32), np.array(_color(rng, 60, 200), np.float32)
    ramp = np.linspace(0, 1, 8, dtype=np.float32)[:, None, None]
    small = np.repeat(c1 + ramp * (c2 - c1), 8, axis=1)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    img += rng.normal(0, 6, (h, w, 3)).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    scale = max_size / 320.
    objects, taken = [], []
    n = 0 if rng.random() < 0.05 else int(rng.integers(1, 7))
    for _ in range(n):
        cat_id = int(rng.choice(DRAWN_CATEGORIES))
        ow, oh = _object_size(rng, cat_id, scale)
        ow, oh = int(min(ow, w * 0.6)), int(min(oh, h * 0.6))
        if ow < 8 or oh < 8:
            continue
        for _ in range(20):
            x1 = int(rng.integers(0, w - ow + 1))
            y1 = int(rng.integers(0, h - oh + 1))
            box = (x1, y1, x1 + ow, y1 + oh)
            if all(box[2] <= t[0] or box[0] >= t[2] or box[3] <= t[1]
                   or box[1] >= t[3] for t in taken):
                taken.append(box)
                _draw_object(rng, img, cat_id, box)
                objects.append((cat_id, [x1, y1, ow, oh]))
                break
    return img, objects


def generate_coco(out_dir: str,
                  num_train: int = 40,
                  num_val: int = 10,
                  seed: int = 0,
                  max_size: int = 320,
                  progress: bool = False,
                  force: bool = False) -> dict:
    """Generate a small synthetic COCO-format detection set.

    Args:
        out_dir (str): Output folder (a ``data_root``); created.
        num_train (int): Number of ``train2017`` images. Defaults to 40.
        num_val (int): Number of ``val2017`` images. Defaults to 10.
        seed (int): Random seed (>= 0). Defaults to 0.
        max_size (int): Longest image side in px (>= 64). Defaults to 320.
        progress (bool): Print one line per split. Defaults to False.
        force (bool): Write into a folder that is not empty and was not
            written by this generator; refused otherwise. Defaults to False.

    Returns:
        dict: Summary with image and annotation counts per split.
    """
    num_train, num_val, seed, max_size = su.check_common_args(
        num_train, num_val, seed, max_size)
    out_dir = su.prepare_out_dir(out_dir, GENERATOR_NAME, force)
    categories = [
        dict(id=i, name=n, supercategory=s) for i, n, s in COCO_CATEGORIES
    ]
    summary = dict(generator=GENERATOR_NAME, seed=seed, max_size=max_size)
    next_img_id, next_ann_id = 1, 1
    splits = (('train', num_train), ('val', num_val))
    for split_id, (split, num) in enumerate(splits):
        img_dir = osp.join(out_dir, f'{split}2017')
        ann_file = osp.join(out_dir, 'annotations',
                            f'instances_{split}2017.json')
        su.make_dir(img_dir)
        su.make_dir(osp.dirname(ann_file))
        images, annotations = [], []
        for i in range(num):
            rng = np.random.default_rng([seed, split_id, i])
            img, objects = _render(rng, max_size)
            img_id = next_img_id
            next_img_id += 1
            file_name = f'{img_id:012d}.jpg'
            su.write_jpg(osp.join(img_dir, file_name), img, file_name)
            images.append(
                dict(
                    id=img_id,
                    file_name=file_name,
                    width=img.shape[1],
                    height=img.shape[0],
                    license=1))
            for cat_id, (x, y, w, h) in objects:
                annotations.append(
                    dict(
                        id=next_ann_id,
                        image_id=img_id,
                        category_id=cat_id,
                        bbox=[x, y, w, h],
                        area=float(w * h),
                        iscrowd=0,
                        segmentation=[[x, y, x + w, y, x + w, y + h, x,
                                       y + h]]))
                next_ann_id += 1
        data = dict(
            info=dict(
                description='mmdet_faces synthetic COCO smoke-test set',
                version='1.0',
                year=2017,
                contributor='mmdet_faces',
                date_created='2017/09/01'),
            licenses=[dict(id=1, name='synthetic', url='')],
            images=images,
            annotations=annotations,
            categories=categories)
        su.write_file(ann_file, json.dumps(data))
        summary[split] = dict(images=len(images), annotations=len(annotations))
        if progress:
            print(
                f'[synthetic_coco] {split}: {len(images)} images, '
                f'{len(annotations)} boxes',
                flush=True)
    su.write_marker(out_dir, summary)
    return dict(summary, out_dir=out_dir)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``gen_synthetic_coco.py`` tool."""
    parser = su.build_parser(
        _CLI_DESCRIPTION,
        'output folder (a data_root)',
        num_images=40,
        max_size=320)
    return su.run_generator(
        parser.parse_args(argv),
        'gen_synthetic_coco',
        generate_coco,
        GENERATOR_NAME,
        progress=True)
