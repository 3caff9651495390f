#!/usr/bin/env python
"""Export a RetinaFace / S3FD / SCRFD detector to ONNX.

Usage::

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT OUT.onnx \
        [--nms] [--opset 17] [--verify]

The graph takes ``image``: (batch, 3, height, width) float32 BGR pixels
(0-255, any batch and size; resize on the caller's side, outputs are in
input pixels) and applies the model's normalisation itself. Outputs:

* default: decoded ``boxes`` (B, A, 4) x1y1x2y2, ``scores`` (B, A) and, for
  RetinaFace, ``landmarks`` (B, A, 5, 2) for every anchor, before NMS;
* ``--nms``: ``batch_inds`` (K,), ``boxes`` (K, 4), ``scores`` (K,),
  ``landmarks`` (K, 5, 2) after score threshold + ONNX NonMaxSuppression.

SCRFD models are written in insightface's layout instead (``--layout
insightface``, the default for them; ``tools/scrfd2onnx.py`` of insightface
``detection/scrfd``): input ``input.1`` (batch, 3, height, width) RGB
normalised as ``(x - 127.5) / 128``, outputs ``score_8/16/32``,
``bbox_8/16/32`` and, for ``_kps`` models, ``kps_8/16/32`` per anchor,
undecoded, opset 11 by default; ``insightface.model_zoo.scrfd.SCRFD``
loads the file as it is (see ``docs/scrfd.md``). ``--static`` fixes the
input to ``--shape``.

Anchors are computed in the graph from the feature-map sizes, so the file is
valid for any input size. ``CHECKPOINT`` may be ``none`` (random weights,
to try the export; the box / landmark convs are then damped to a trained
head's output range, see :func:`damp_random_regression_`). ``--verify``
runs onnxruntime against PyTorch on random images of three sizes at batch 1
and 4 and fails when a decoded output differs by more than ``--atol`` (plus
2 float32 ulps of the value: above 1024 px one ulp is already 1.2e-4).

``OUT`` is refused (one line, nothing written) when it is ``CONFIG`` or
``CHECKPOINT`` (also through a link) or a folder, and written atomically:
an interrupted export leaves no partial file and an older ``OUT`` intact.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import warnings

import torch
from mmengine.config import DictAction

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmdet_faces.apis import FaceDetector
from mmdet_faces.deployment import (FaceONNXWrapper, check_onnx_parity,
                                    export_onnx, export_scrfd_insightface)
from tools.output_paths import OutputPathError, atomic_output, check_not_input

DEFAULT_VERIFY_SIZES = ((320, 320), (480, 640), (257, 191))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export RetinaFace / S3FD to ONNX (dynamic batch and '
        'image size)')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none'")
    parser.add_argument('out', help='output .onnx file')
    parser.add_argument(
        '--nms',
        action='store_true',
        help='put score threshold + NMS in the graph')
    parser.add_argument(
        '--opset',
        type=int,
        default=None,
        help='ONNX opset (default 17; 11 for the '
        'insightface layout)')
    parser.add_argument(
        '--layout',
        choices=('auto', 'decoded', 'insightface'),
        default='auto',
        help="outputs: decoded detections, or insightface's "
        'per-stride SCRFD outputs (auto: insightface for '
        'SCRFD, decoded otherwise)')
    parser.add_argument(
        '--static',
        action='store_true',
        help='insightface layout: fix the input to --shape')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=None,
        help="NMS score threshold (default: the config's)")
    parser.add_argument(
        '--iou-thr',
        type=float,
        default=None,
        help="NMS IoU threshold (default: the config's)")
    parser.add_argument(
        '--max-per-img',
        type=int,
        default=None,
        help="detections kept per image with --nms "
        "(default: the config's, 10000 if unlimited)")
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=(320, 320),
        metavar=('H', 'W'),
        help='example input size traced with (any works)')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare onnxruntime with PyTorch')
    parser.add_argument(
        '--verify-sizes',
        type=int,
        nargs='+',
        metavar='H W',
        default=None,
        help='H W pairs for --verify (default 320 320 '
        '480 640 257 191)')
    parser.add_argument(
        '--verify-batches',
        type=int,
        nargs='+',
        default=(1, 4),
        help='batch sizes for --verify')
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-4,
        help='--verify tolerance (default 1e-4)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    args = parser.parse_args(argv)
    if args.verify_sizes is not None and len(args.verify_sizes) % 2:
        parser.error('--verify-sizes takes H W pairs')
    return args


def damp_random_regression_(model, factor: float = 0.05) -> None:
    """Scale the box / landmark convs of a random model by ``factor``.

    A trained head predicts deltas of a few units; a random one on a deep
    backbone (R50) predicts ~100, i.e. boxes of 1e9 px, where float32
    rounding of the backbone alone (1e-6 relative) moves boxes by more
    than any absolute tolerance. Damping keeps ``none`` exports checkable.
    """
    head = model.bbox_head
    convs = list(head.reg_convs) + list(getattr(head, 'kpt_convs', []))
    with torch.no_grad():
        for conv in convs:
            conv.weight.mul_(factor)
            if conv.bias is not None:
                conv.bias.mul_(factor)


def verify(model, out_file: str, sizes, batches, atol: float, with_nms: bool,
           nms_kwargs: dict) -> bool:
    """Parity of the decoded outputs (an NMS export is checked through a
    temporary export without NMS, plus detection counts of its NMS graph);
    prints one line per input shape. Returns True when all pass."""
    shapes = [(b, h, w) for h, w in sizes for b in batches]
    with tempfile.TemporaryDirectory() as tmp:
        if with_nms:
            plain = osp.join(tmp, 'decoded.onnx')
            wrapper = export_onnx(model, plain, with_nms=False)
        else:
            plain = out_file
            wrapper = FaceONNXWrapper(model).eval()
        report = check_onnx_parity(wrapper, plain, shapes, atol=atol)
    for rep in report:
        b, h, w = rep['shape']
        diffs = ', '.join(f'{k} {v:.2e}'
                          for k, v in rep['max_abs_diff'].items())
        print(f'  batch {b} {h}x{w}: max |onnx - torch| {diffs} '
              f'{"OK" if rep["passed"] else "FAIL"}')
    if with_nms:
        import onnxruntime as ort
        nms_wrapper = FaceONNXWrapper(model, True, **nms_kwargs).eval()
        sess = ort.InferenceSession(
            out_file, providers=['CPUExecutionProvider'])
        gen = torch.Generator().manual_seed(1)
        for b, h, w in shapes[:2]:
            img = torch.rand(b, 3, h, w, generator=gen) * 255
            with torch.no_grad():
                ref = nms_wrapper(img)
            outs = sess.run(None, {'image': img.numpy()})
            note = '' if len(outs[0]) == len(ref[0]) else \
                ' (differs: equal scores are ordered differently)'
            print(f'  NMS graph, batch {b} {h}x{w}: {len(outs[0])} '
                  f'detections (PyTorch + mmcv nms: {len(ref[0])}){note}')
    return all(rep['passed'] for rep in report)


def export_insightface_layout(model, args) -> int:
    """The SCRFD export of :func:`main` (and its ``--verify``)."""
    opset = 11 if args.opset is None else args.opset
    example = (1, *args.shape)
    with atomic_output(args.out) as tmp:
        wrapper = export_scrfd_insightface(
            model,
            tmp,
            opset=opset,
            example_shape=example,
            dynamic=not args.static)
    size = os.path.getsize(args.out) / 2**20
    print(f'wrote {args.out} ({size:.1f} MiB, opset {opset}, insightface '
          f'layout): input input.1 [batch, 3, '
          f'{"height, width" if not args.static else args.shape}] '
          'float32 RGB (x - 127.5) / 128, outputs '
          f'{", ".join(wrapper.output_names)}')
    if not args.verify:
        return 0
    shapes = [example] if args.static else [(b, h, w) for h, w in ((640, 640),
                                                                   (480, 640))
                                            for b in args.verify_batches]
    report = check_onnx_parity(wrapper, args.out, shapes, atol=args.atol)
    for rep in report:
        worst = max(rep['max_abs_diff'].values())
        print(f'  batch {rep["shape"][0]} {rep["shape"][1]}x'
              f'{rep["shape"][2]}: max |onnx - torch| {worst:.2e} '
              f'{"OK" if rep["passed"] else "FAIL"}')
    ok = all(rep['passed'] for rep in report)
    print(
        'verification passed' if ok else 'verification FAILED',
        file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    ckpt = None if args.checkpoint.lower() == 'none' else args.checkpoint
    try:
        check_not_input(args.out, [('CONFIG', args.config)] +
                        ([('CHECKPOINT', ckpt)] if ckpt else []))
    except OutputPathError as e:
        print(f'export_onnx.py: error: {e}', file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():
            # 'none' asks for random weights: said below, in these words
            warnings.filterwarnings('ignore', 'FaceDetector: no checkpoint')
            det = FaceDetector(
                args.config, ckpt, device='cpu', cfg_options=args.cfg_options)
    except (ValueError, FileNotFoundError, TypeError) as e:
        # a missing / refused / unconverted checkpoint, a bad config
        print(f'export_onnx.py: error: {e}', file=sys.stderr)
        return 2
    is_scrfd = hasattr(det.model.bbox_head, 'use_kps')
    layout = args.layout if args.layout != 'auto' else \
        'insightface' if is_scrfd else 'decoded'
    if is_scrfd != (layout == 'insightface'):
        print(
            f'export_onnx.py: error: the {layout} layout is for '
            f'{"SCRFD" if layout == "insightface" else "RetinaFace / S3FD"}'
            f' models, {args.config} is not one',
            file=sys.stderr)
        return 2
    if is_scrfd:
        return export_insightface_layout(det.model, args)
    args.opset = 17 if args.opset is None else args.opset
    if ckpt is None:
        damp_random_regression_(det.model)
        print('random weights (checkpoint none): box / landmark convs '
              'scaled by 0.05 so that the decoded boxes have image sizes')
    nms_kwargs = dict(
        score_thr=args.score_thr,
        iou_thr=args.iou_thr,
        max_per_img=args.max_per_img)
    with atomic_output(args.out) as tmp:
        wrapper = export_onnx(
            det.model,
            tmp,
            with_nms=args.nms,
            opset=args.opset,
            example_shape=(1, *args.shape),
            **nms_kwargs)
        try:
            import onnx
            onnx.checker.check_model(tmp)
        except ImportError:
            pass
    size = os.path.getsize(args.out) / 2**20
    print(f'wrote {args.out} ({size:.1f} MiB, opset {args.opset}): '
          f'input image [batch, 3, height, width] float32 BGR 0-255, '
          f'outputs {", ".join(wrapper.output_names)}' +
          (f' (NMS: score > {wrapper.score_thr}, IoU {wrapper.iou_thr}, '
           f'max {wrapper.max_per_img} per image)' if args.nms else ''))
    if args.verify:
        sizes = DEFAULT_VERIFY_SIZES if args.verify_sizes is None else list(
            zip(args.verify_sizes[0::2], args.verify_sizes[1::2]))
        print('verifying with onnxruntime (random images):')
        if not verify(det.model, args.out, sizes, args.verify_batches,
                      args.atol, args.nms, nms_kwargs):
            print('verification FAILED', file=sys.stderr)
            return 1
        print('verification passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
