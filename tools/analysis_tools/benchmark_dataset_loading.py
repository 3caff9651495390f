# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Time parsing WIDER-train-sized annotations and building the dataset.

Writes a synthetic ``label.txt`` (default 12,880 images, ~160k faces, 60%
with landmarks, RetinaFace number style) and the same faces in the official
format into a temporary folder, then times, for each file:

- parse: ``load_wider_annotations`` (read + parse all numbers);
- build: ``WIDERFaceLandmarkDataset(...)`` full init (parse, per-image
  arrays, mmengine serialisation), images are not touched.

Example::

    python tools/analysis_tools/benchmark_dataset_loading.py [--repeat 3]

Not a test: prints the best of ``--repeat`` runs in seconds, wall clock and
CPU time of this process (the latter is less disturbed by other load).
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def make_files(out_dir: str, num_images: int, num_faces: int, seed: int):
    """Write ``label.txt`` and ``bbx_gt.txt`` with the same random faces."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(num_faces, np.full(num_images, 1 / num_images))
    counts[rng.random(num_images) < 0.02] = 0  # a few negatives
    n = int(counts.sum())
    xy = rng.integers(0, 900, (n, 2))
    wh = rng.integers(1, 300, (n, 2))
    pts = xy[:, None] + rng.random((n, 5, 2)) * wh[:, None]
    with_lmk = rng.random(n) < 0.6
    blur = rng.random(n)
    attrs = rng.integers(0, 2, (n, 6))
    retina, official = [], []
    k = 0
    for i, c in enumerate(counts.tolist()):
        name = f'{i % 61}--Event/{i % 61}_Event_image_{i}.jpg'
        retina.append(f'# {name}')
        official += [name, str(c)]
        if c == 0:
            official.append('0 0 0 0 0 0 0 0 0 0 ')
        for j in range(k, k + c):
            box = f'{xy[j, 0]} {xy[j, 1]} {wh[j, 0]} {wh[j, 1]}'
            if with_lmk[j]:
                lmk = ' '.join(f'{p[0]:.3f} {p[1]:.3f} 0.0' for p in pts[j])
                retina.append(f'{box} {lmk} {blur[j]:.2f}')
            else:
                retina.append(box + ' -1.0' * 16)
            official.append(box + ' ' + ' '.join(map(str, attrs[j])) + ' ')
        k += c
    label = osp.join(out_dir, 'label.txt')
    bbx_gt = osp.join(out_dir, 'wider_face_train_bbx_gt.txt')
    with open(label, 'w') as f:
        f.write('\n'.join(retina) + '\n')
    with open(bbx_gt, 'w') as f:
        f.write('\n'.join(official) + '\n')
    return label, bbx_gt, n


def best_of(fn, repeat: int):
    """Best wall-clock and best CPU (process) seconds of ``repeat`` runs."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=12880)
    parser.add_argument('--num-faces', type=int, default=159424)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    from mmdet_faces.datasets import (WIDERFaceLandmarkDataset,
                                      load_wider_annotations)
    with tempfile.TemporaryDirectory() as tmp:
        label, bbx_gt, n = make_files(tmp, args.num_images, args.num_faces,
                                      args.seed)
        size = osp.getsize(label) / 2**20
        print(f'{args.num_images} images, {n} faces '
              f'(label.txt {size:.1f} MiB)')
        for path, fmt in ((label, 'retinaface'), (bbx_gt, 'official')):
            parse = best_of(lambda: load_wider_annotations(path), args.repeat)
            build = best_of(
                lambda: WIDERFaceLandmarkDataset(
                    ann_file=path, data_prefix=dict(img=tmp), pipeline=[]),
                args.repeat)
            print(f'{fmt:>10}: parse {parse[0]:.3f} s (cpu {parse[1]:.3f}), '
                  f'parse + build dataset {build[0]:.3f} s '
                  f'(cpu {build[1]:.3f})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
