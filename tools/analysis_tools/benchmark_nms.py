# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Benchmark the pure-torch NMS of ``mmcv_patches.torch_ops`` against
mmcv's compiled CPU kernel, on the same inputs, in the same run.

Cases (boxes in score order as a dense head hands them over):

- ``chain``: N boxes in a row, each overlapping only its neighbours (IoU
  0.67 > 0.4): every second box is kept, each decision depends on the
  previous one (the worst case of a greedy NMS that resolves suppression
  chains on the device);
- ``faces``: face-like candidates, 40 to 400 faces with 30 jittered boxes
  each, a quarter of them saturated at score 1.0 (ties), N boxes in all
  (a detector's candidates above a low threshold);
- ``batch``: 32 images of the ``faces`` kind through
  :func:`~mmcv_patches.torch_ops.grouped_nms` (one call for the batch)
  against mmcv's kernel image by image, both given the candidates' rank as
  score (as the heads' NMS does: ties broken by candidate index).

For every case it prints the best and median milliseconds of ``--repeat``
calls of mmcv's kernel, of this checkout's pure-torch op (on ``--device``:
on an accelerator the pure-torch op runs there, mmcv's kernel stays on the
CPU) and, with ``--baseline FILE``, of the ``torch_ops.py`` of another
revision (e.g. ``git show REV:mmcv_patches/torch_ops.py > old.py``), and
whether the kept indices are identical to mmcv's. Numbers on a loaded
machine vary: compare the columns of one run.

usage: python tools/analysis_tools/benchmark_nms.py [--cases chain faces
       batch] [--sizes 6000] [--device cpu] [--repeat 5] [--baseline FILE]
"""
import argparse
import importlib.util
import os.path as osp
import statistics
import sys
import time

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmcv_patches import torch_ops  # noqa: E402
from mmcv_patches.ops import FORCE_ENV  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='pure-torch NMS vs mmcv CPU kernel')
    parser.add_argument(
        '--cases',
        nargs='+',
        default=['chain', 'faces', 'batch'],
        choices=['chain', 'faces', 'batch'])
    parser.add_argument(
        '--sizes',
        nargs='+',
        type=int,
        default=[1000, 6000, 16000],
        help='boxes per image (default 1000 6000 16000)')
    parser.add_argument(
        '--device',
        default='cpu',
        help='device of the pure-torch op (default cpu)')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--iou-thr', type=float, default=0.4)
    parser.add_argument('--offset', type=int, default=1, choices=[0, 1])
    parser.add_argument(
        '--baseline',
        default=None,
        help="another revision's mmcv_patches/torch_ops.py")
    return parser.parse_args(argv)


def chain_boxes(n: int):
    """(boxes, scores): n boxes of 10 px, 2 px apart, descending scores."""
    x = torch.arange(n, dtype=torch.float32) * 2
    boxes = torch.stack([x, torch.zeros(n), x + 10, torch.full((n, ), 10.)], 1)
    return boxes, torch.linspace(1, 0.05, n)


def face_boxes(n: int, seed: int = 0):
    """(boxes, scores): n face-like candidates (30 per face) on a 640x480
    image, scores quantised to float16 and a quarter saturated at 1.0."""
    gen = torch.Generator().manual_seed(seed)
    faces = max(1, n // 30)
    centre = torch.rand(faces, 2, generator=gen) * torch.tensor([600., 440.])
    size = 8 + torch.rand(faces, 1, generator=gen) * 120
    idx = torch.arange(n) % faces
    jitter = torch.randn(n, 4, generator=gen) * (size[idx] * 0.1)
    xy = centre[idx]
    boxes = torch.cat([xy - size[idx] / 2, xy + size[idx] / 2], 1) + jitter
    scores = (torch.rand(n, generator=gen) * 0.98 + 0.02).half().float()
    scores[torch.rand(n, generator=gen) < 0.25] = 1.
    order = scores.sort(descending=True, stable=True)[1]
    return boxes[order], scores[order]


def load_baseline(path: str):
    """A ``torch_ops.py`` of another revision, as a module."""
    spec = importlib.util.spec_from_file_location('_baseline_torch_ops', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn, repeat: int, device: torch.device):
    """(result, best ms, median ms) of ``repeat`` calls after one warm-up."""
    out = fn()
    times = []
    for _ in range(repeat):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        out = fn()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        times.append((time.perf_counter() - start) * 1e3)
    return out, min(times), statistics.median(times)


def run_case(case: str, n: int, args, ops: dict) -> dict:
    """Time one case with every implementation in ``ops``."""
    from mmcv.ops import nms as mmcv_nms
    device = torch.device(args.device)
    thr, offset = args.iou_thr, args.offset
    if case == 'batch':
        rank = torch.arange(n, 0, -1, dtype=torch.float32)
        images = [(face_boxes(n, seed)[0], rank) for seed in range(32)]
        boxes = torch.cat([b for b, _ in images])
        scores = rank.repeat(32)
        groups = torch.arange(32).repeat_interleave(n)

        def mmcv_fn():
            keep, start = [], 0
            for b, s in images:
                keep.append(mmcv_nms(b, s, thr, offset=offset)[1] + start)
                start += len(b)
            return torch.cat(keep)

        def torch_fn(module):
            b, s, g = boxes.to(device), scores.to(device), groups.to(device)
            return lambda: module.grouped_nms(b, s, g, thr, offset).cpu()
    else:
        boxes, scores = chain_boxes(n) if case == 'chain' else face_boxes(n)

        def mmcv_fn():
            return mmcv_nms(boxes, scores, thr, offset=offset)[1]

        def torch_fn(module):
            b, s = boxes.to(device), scores.to(device)
            return lambda: module.nms(b, s, thr, offset).cpu()

    ref, best, median = timed(mmcv_fn, args.repeat, torch.device('cpu'))
    row = dict(case=case, n=n, kept=len(ref), mmcv=(best, median))
    for name, module in ops.items():
        keep, best, median = timed(torch_fn(module), args.repeat, device)
        row[name] = (best, median, torch.equal(keep, ref))
    return row


def main(argv=None) -> list:
    args = parse_args(argv)
    import os
    os.environ.pop(FORCE_ENV, None)  # mmcv's own kernel for the reference
    ops = {'torch': torch_ops}
    if args.baseline:
        ops['baseline'] = load_baseline(args.baseline)
    print(f'NMS, IoU > {args.iou_thr}, offset {args.offset}; pure torch on '
          f'{args.device}, mmcv CPU kernel; {torch.get_num_threads()} torch '
          f'threads; best (median) of {args.repeat} calls, ms')
    head = '| case | boxes | kept | mmcv | ' + ' | '.join(ops) + ' |'
    print(head)
    print('|---|---:|---:|---:|' + '---:|' * len(ops))
    rows = []
    for case in args.cases:
        for n in args.sizes:
            row = run_case(case, n, args, ops)
            rows.append(row)
            cells = [f'{row["mmcv"][0]:.1f} ({row["mmcv"][1]:.1f})']
            for name in ops:
                best, median, same = row[name]
                cells.append(f'{best:.1f} ({median:.1f})' +
                             ('' if same else ' DIFFERS'))
            total = f'32 x {n}' if case == 'batch' else f'{n}'
            print(
                f'| {case} | {total} | {row["kept"]} | ' + ' | '.join(cells) +
                ' |',
                flush=True)
    return rows


if __name__ == '__main__':
    main()
