# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Benchmark the WIDER Face evaluation (reading predictions + evaluating).

Two cases on the real WIDER Face val ground truth:

- ``seed7``: the folder made by ``../shared/tools/make_widerface_preds.py``
  with seed 7 (256,537 detections over 3,226 images); its APs are checked
  against ``../shared/widerface_eval_cases.json``;
- ``750``: 750 detections per image (about 2.4M), like a detector dumping
  its top 750 boxes per image.

It prints the best-of-N wall seconds for reading and for evaluating (and
the CPU time of the process, which other load on the machine inflates much
less), and (unless ``--no-port``) the time of the loop-style reference port
on the seed-7 case, run once (``tests/reference/widerface_eval_port.py``,
with its numpy IoU standing in for the compiled Cython one).

usage: python tools/analysis_tools/benchmark_widerface_eval.py [--gt-dir DIR]
       [--repeat N] [--no-port] [--keep DIR]
Run it pinned to one core for the one-core numbers: ``taskset -c 0 ...``.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED = os.environ.get('MMDET_FACES_SHARED') or osp.join(
    osp.dirname(REPO), 'shared')
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from mmdet_faces.evaluation import functional as wfe


def write_preds(gt, out_dir, per_image=None, seed=7):
    """Write a prediction folder from the ground truth (own generator).

    Detections are jittered faces (kept with a probability growing with the
    face size), duplicates, and uniform false positives, score-descending.
    With ``per_image`` every image gets exactly that many detections.
    """
    rng = np.random.default_rng(seed)
    n_det = 0
    for i, name in enumerate(gt['names']):
        b = gt['boxes'][gt['offsets'][i]:gt['offsets'][i + 1]]
        size = np.sqrt(np.maximum(b[:, 2] * b[:, 3], 1.0))
        keep = rng.random(len(b)) < np.clip(size / 40.0, 0.05, 0.97)
        d = b[keep].copy()
        d[:, :2] += rng.normal(0, 0.08, (len(d), 2)) * d[:, 2:4]
        d[:, 2:4] *= np.exp(rng.normal(0, 0.08, (len(d), 2)))
        s = np.clip(
            0.5 + 0.4 * np.tanh(size[keep] / 30.0) +
            rng.normal(0, 0.15, len(d)), 0.021, 0.999)
        dup = rng.random(len(d)) < 0.1
        dd = d[dup].copy()
        dd[:, :2] += rng.normal(0, 0.3, (len(dd), 2)) * dd[:, 2:4]
        ds = s[dup] * rng.uniform(0.3, 0.9, len(dd))
        det, sc = np.concatenate([d, dd]), np.concatenate([s, ds])
        n_fp = (
            rng.poisson(60 + len(b)) if per_image is None else max(
                per_image - len(det), 0))
        fp = np.stack([
            rng.uniform(0, 1000, n_fp),
            rng.uniform(0, 800, n_fp),
            rng.uniform(4, 120, n_fp),
            rng.uniform(4, 140, n_fp)
        ], 1)
        det = np.concatenate([det, fp])
        sc = np.concatenate([sc, rng.uniform(0.021, 0.7, n_fp)])
        order = np.argsort(-sc, kind='stable')
        if per_image is not None:
            order = order[:per_image]
        rows = np.concatenate([det[order], sc[order, None]], 1)
        event, img = name.split('/')
        os.makedirs(osp.join(out_dir, event), exist_ok=True)
        with open(osp.join(out_dir, event, img + '.txt'), 'w') as f:
            f.write(f'{img}\n{len(rows)}\n')
            f.write('%.1f %.1f %.1f %.1f %.4f\n' * len(rows) %
                    tuple(rows.ravel().tolist()))
        n_det += len(rows)
    return n_det


def time_case(pred_dir, gt, repeat):
    """Best-of-``repeat`` seconds of reading and of evaluating."""
    t_read, t_eval, t_cpu, result = [], [], [], None
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        preds = wfe.read_widerface_preds(pred_dir, gt)
        t1 = time.perf_counter()
        result = wfe.evaluate_widerface(preds, gt)
        t2 = time.perf_counter()
        t_cpu.append(time.process_time() - c0)
        t_read.append(t1 - t0)
        t_eval.append(t2 - t1)
        t_total = [r + e for r, e in zip(t_read, t_eval)]
    return dict(
        cpu_s=min(t_cpu),
        detections=int(len(preds['dets'])),
        read_s=min(t_read),
        eval_s=min(t_eval),
        total_s=min(t_total),
        median_total_s=float(np.median(t_total)),
        easy=result['easy'],
        medium=result['medium'],
        hard=result['hard'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--gt-dir',
        default=osp.join(SHARED, 'widerface_val_gt'),
        help='folder with the four WIDER Face val .mat files')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument(
        '--no-port', action='store_true', help='do not time the port')
    parser.add_argument(
        '--keep', help='write the prediction folders here and keep them')
    parser.add_argument('--json', help='also write the numbers here')
    args = parser.parse_args()

    if not osp.isfile(osp.join(args.gt_dir, 'wider_face_val.mat')):
        sys.exit(f'error: no wider_face_val.mat in {args.gt_dir} '
                 '(pass --gt-dir)')
    gt = wfe.load_widerface_gt(args.gt_dir)
    work = args.keep or tempfile.mkdtemp(prefix='bench_widerface_')
    report = {}
    try:
        seed_dir = osp.join(work, 'seed7')
        tool = osp.join(SHARED, 'tools', 'make_widerface_preds.py')
        cases_file = osp.join(SHARED, 'widerface_eval_cases.json')
        if not osp.isdir(seed_dir):
            if osp.isfile(tool):
                subprocess.run(
                    [sys.executable, tool, args.gt_dir, seed_dir, '7'],
                    check=True,
                    stdout=subprocess.DEVNULL)
            else:
                write_preds(gt, seed_dir, seed=7)
        dense_dir = osp.join(work, 'dense750')
        if not osp.isdir(dense_dir):
            write_preds(gt, dense_dir, per_image=750, seed=11)

        expected = None
        if osp.isfile(cases_file) and osp.isfile(tool):
            with open(cases_file) as f:
                expected = {c['seed']: c for c in json.load(f)['cases']}[7]
        for key, folder in (('seed7', seed_dir), ('750', dense_dir)):
            r = time_case(folder, gt, args.repeat)
            report[key] = r
            print(f'[{key}] {r["detections"]:,} detections: read '
                  f'{r["read_s"]:.3f} s + evaluate {r["eval_s"]:.3f} s = '
                  f'{r["total_s"]:.3f} s (best of {args.repeat}; median '
                  f'{r["median_total_s"]:.3f} s; CPU time {r["cpu_s"]:.3f} s)'
                  f'  easy {r["easy"]:.6f} '
                  f'medium {r["medium"]:.6f} hard {r["hard"]:.6f}')
            if key == 'seed7' and expected is not None:
                err = max(
                    abs(r[s] - expected[s])
                    for s in ('easy', 'medium', 'hard'))
                print(f'[seed7] max |AP - reference case| = {err:.2e}')
        if not args.no_port:
            from tests.reference import widerface_eval_port as port
            t0 = time.perf_counter()
            with np.errstate(invalid='ignore', divide='ignore'):
                aps = port.evaluation(seed_dir, args.gt_dir)
            t_port = time.perf_counter() - t0
            report['port_s'] = t_port
            ours = report['seed7']
            err = max(
                abs(a - ours[s])
                for a, s in zip(aps, ('easy', 'medium', 'hard')))
            print(f'[port] seed7: {t_port:.2f} s (once), speed-up '
                  f'{t_port / ours["total_s"]:.0f}x, max |AP diff| '
                  f'{err:.2e}')
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=2)


if __name__ == '__main__':
    main()
