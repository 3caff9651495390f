# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Where a face detector loses WIDER Face AP: scores and boxes by face size.

Runs a model on the images of a WIDER Face ground truth (the config's test
pipeline, batch 1, as ``tools/test.py``) and prints

* easy / medium / hard AP (the WIDER Face protocol),
* per face-height bin (pixels in the network input) of the faces of one
  setting: how many are found at IoU >= 0.5, the mean best IoU of a
  detection and the median / 10th-percentile score of the best-matching
  detection,
* for heads with per-level sigmoid score maps (SCRFD): the median of the
  highest score any anchor of each level gives near each face's centre,
* the highest-scoring false positives (IoU < 0.5 with every face).

A setting's AP is lost when its faces score below the best false positives;
docs/scrfd.md ("Demo on the bundled data set") shows how to read it.

usage: python tools/analysis_tools/scores_by_face_size.py CONFIG CHECKPOINT
       [--gt-dir DIR] [--img-dir DIR] [--setting easy] [--bins 64 128 256]
       [--top-fp 10] [--device cpu]

``--gt-dir`` (the four official .mat files) and ``--img-dir`` default to
the config's ``val_evaluator.gt_dir`` and its val data set's image folder.
"""
import argparse
import os.path as osp
import sys

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

SETTINGS = ('easy', 'medium', 'hard')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='WIDER Face scores and boxes by face size')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='mmdet checkpoint')
    parser.add_argument(
        '--gt-dir',
        help='folder with the four val .mat '
        "files (default: the config's val_evaluator.gt_dir)")
    parser.add_argument(
        '--img-dir',
        help='image folder <event>/<name>.jpg '
        "(default: the config's val images)")
    parser.add_argument('--setting', choices=SETTINGS, default='easy')
    parser.add_argument(
        '--bins',
        type=float,
        nargs='+',
        default=[64, 128, 256],
        help='face-height bin edges in network-input pixels')
    parser.add_argument('--top-fp', type=int, default=10)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def iou_xywh(a, b):
    """(N, M) IoU of ``x y w h`` boxes ``a`` (N, 4) and ``b`` (M, 4), by
    mmdet's ``bbox_overlaps``."""
    import torch
    from mmdet.structures.bbox import bbox_overlaps

    def xyxy(x):
        x = torch.as_tensor(x[:, :4], dtype=torch.float64)
        return torch.cat([x[:, :2], x[:, :2] + x[:, 2:]], 1)

    return bbox_overlaps(xyxy(a), xyxy(b)).numpy()


def level_scores(maps, boxes, strides):
    """(F, L): the highest score any anchor of each level gives within a
    quarter of the face's width of its centre (one cell at least).

    Args:
        maps (list[Tensor]): Per-level (A, H, W) score maps of one image.
        boxes (np.ndarray): (F, 4) faces ``x y w h`` in input pixels.
        strides (list[int]): The levels' strides.
    """
    out = np.zeros((len(boxes), len(maps)))
    for li, (m, s) in enumerate(zip(maps, strides)):
        m = m.float().cpu().numpy()
        for fi, (x, y, w, h) in enumerate(boxes):
            cx, cy = int((x + w / 2) // s), int((y + h / 2) // s)
            r = max(1, int(w / s / 4))
            patch = m[:, max(cy - r, 0):cy + r + 1, max(cx - r, 0):cx + r + 1]
            out[fi, li] = patch.max() if patch.size else 0.
    return out


def analyse(det, gt, img_dir, setting='easy'):
    """Run ``det`` on the ground truth's images and match its detections.

    Returns:
        dict: ``preds`` (name -> (N, 5) ``x y w h score``, original
        pixels, score-descending), ``faces`` ((F, 4 + L) for the faces of
        ``setting``: height in input pixels, best IoU, score of the best
        IoU detection, whether a detection has IoU >= 0.5, then the level
        scores when the head has them), ``fps`` (list of (score, height,
        image name) of detections with IoU < 0.5 with every face) and
        ``strides`` (the levels' strides, or None).
    """
    import torch
    head = det.model.bbox_head
    strides = None
    captured = []
    if getattr(head, 'use_sigmoid_cls', False) and hasattr(
            head, 'prior_generator'):
        strides = [int(s[0]) for s in head.prior_generator.strides]

        def keep(module, args, output):
            captured.append([c.sigmoid() for c in output[0]])

        hook = head.register_forward_hook(keep)
    preds, faces, fps = {}, [], []
    mask = gt['settings'][setting]
    try:
        for i, name in enumerate(gt['names']):
            path = osp.join(img_dir, name + '.jpg')
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{path}: image of ground-truth entry {name} not found')
            captured.clear()
            with torch.no_grad():
                sample = det.predict_samples([path])[0]
            scale = float(sample.metainfo['scale_factor'][0])
            r = det.inferencer.to_detections([sample])[0]
            order = np.argsort(-r.scores, kind='stable')
            b, s = r.bboxes[order], r.scores[order]
            p = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2], s[:, None]], 1)
            preds[name] = p
            lo, hi = gt['offsets'][i], gt['offsets'][i + 1]
            g, sel = gt['boxes'][lo:hi], mask[lo:hi]
            m = iou_xywh(p[:, :4], g) if len(p) and len(g) else np.zeros(
                (len(p), len(g)))
            if len(p):
                best = m.max(1) if len(g) else np.zeros(len(p))
                fps += [(float(q[4]), float(q[3] * scale), name)
                        for q in p[best < 0.5]]
            lv = None
            if strides and captured:
                lv = level_scores([c[0] for c in captured[0]], g[sel] * scale,
                                  strides)
            idx = np.flatnonzero(sel)
            rows = np.zeros((len(idx), 4))
            rows[:, 0] = g[idx, 3] * scale
            if len(p):
                t = m[:, idx].argmax(0)  # best-IoU detection of each face
                rows[:, 1] = m[t, idx]
                rows[:, 2] = p[t, 4]
                rows[:, 3] = m[t, idx] >= 0.5
            faces.append(rows if lv is None else np.hstack([rows, lv]))
    finally:
        if strides is not None:
            hook.remove()
    width = 4 + (len(strides) if strides else 0)
    fps.sort(key=lambda x: -x[0])
    return dict(
        preds=preds,
        faces=np.concatenate(faces) if faces else np.zeros((0, width)),
        fps=fps,
        strides=strides)


def size_table(faces, edges, strides=None):
    """Markdown table of :func:`analyse`'s ``faces`` by height bin."""
    edges = [0.] + sorted(edges) + [np.inf]
    head = '| face height (input px) | faces | found | best IoU | score ' \
        'median | score p10 |'
    sep = '|---|---:|---:|---:|---:|---:|'
    if strides:
        head += ''.join(f' stride {s} |' for s in strides)
        sep += '---:|' * len(strides)
    lines = [head, sep]
    for lo, hi in zip(edges[:-1], edges[1:]):
        f = faces[(faces[:, 0] >= lo) & (faces[:, 0] < hi)]
        if not len(f):
            continue
        name = f'{lo:g}-{hi:g}' if np.isfinite(hi) else f'>= {lo:g}'
        line = (f'| {name} | {len(f)} | {f[:, 3].mean():.2f} | '
                f'{f[:, 1].mean():.3f} | {np.median(f[:, 2]):.3f} | '
                f'{np.percentile(f[:, 2], 10):.3f} |')
        if strides:
            line += ''.join(f' {v:.2f} |' for v in np.median(f[:, 4:], 0))
        lines.append(line)
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config

    from mmdet_faces.apis import FaceDetector
    from mmdet_faces.evaluation import functional as wfe
    cfg = Config.fromfile(args.config)
    gt_dir = args.gt_dir or cfg.val_evaluator.get('gt_dir')
    if args.img_dir:
        img_dir = args.img_dir
    else:
        ds = cfg.val_dataloader.dataset
        img_dir = osp.join(ds.get('data_root', ''), ds.data_prefix['img'])
    try:
        gt = wfe.load_widerface_gt(gt_dir)
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'image folder not found: {img_dir}')
        det = FaceDetector(cfg, args.checkpoint, device=args.device)
        res = analyse(det, gt, img_dir, args.setting)
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    ap = wfe.evaluate_widerface(res['preds'], gt)
    print('AP: ' + ', '.join(f'{k} {ap[k]:.4f}' for k in SETTINGS))
    print(f'\n{args.setting} faces by height in the network input '
          '(found: a detection with IoU >= 0.5; score: of the best-IoU '
          'detection' + ('; stride N: median highest score near the face '
                         'centre at that level' if res['strides'] else '') +
          ')\n')
    print(size_table(res['faces'], args.bins, res['strides']))
    print(f'\nhighest-scoring false positives (IoU < 0.5 with every face; '
          f'{sum(s > 0.5 for s, _, _ in res["fps"])} above 0.5):')
    for score, h, name in res['fps'][:args.top_fp]:
        print(f'  {score:.3f}  height {h:.0f} px  {name}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
