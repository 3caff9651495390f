#!/usr/bin/env python
"""Detect faces in an image, a folder of images or a video.

Usage::

    python tools/infer.py INPUT --config CONFIG --checkpoint CKPT \
        [--out-dir outputs/infer] [--score-thr T] [--draw-thr 0.5] \
        [--batch-size N] [--device cpu|cuda] [--test-scale original|S|S,L|F]

INPUT is an image file, a folder (searched recursively for images) or a
video file. Writes to ``--out-dir``:

* ``vis/<relative path>`` annotated images (boxes, scores, 5 landmarks of
  faces scoring above ``--draw-thr``), or ``<video name>_det.mp4`` for a
  video (same size and frame rate, one annotated frame per input frame);
* ``detections.json``: per image (``file``, relative to the folder) or per
  frame (``frame`` index) ``height``, ``width``, ``boxes`` ([x1, y1, x2, y2]
  in original pixels), ``scores`` and ``landmarks`` (5 [x, y] per face;
  null for S3FD), all detections above ``--score-thr``; for a folder,
  ``skipped``: the unreadable images (``path``, ``error``), each skipped
  with a warning instead of ending the run.

The ``--out-dir`` subtree is left out when it lies inside the input folder
(a rerun does not take the annotated images for inputs); a run whose output
would overwrite one of its inputs is refused before anything is written.

``--checkpoint`` is loaded as weights only (a file that holds code is
refused); ``--checkpoint none`` runs random weights on purpose (without
``--checkpoint`` the same, with a warning). ``--score-thr`` (in [0, 1])
defaults to the config's test threshold, so the JSON holds what
``tools/test.py`` would evaluate; ``--test-scale``: ``original`` (no
resize), ``S`` (short side S), ``S,L`` (short side S, long side at most L)
or a float factor; default: the config's test pipeline.
"""
import argparse
import json
import os
import os.path as osp
import sys
import warnings
from typing import Iterator, List, Optional, Tuple

import cv2
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg',
              '.wmv')


class InferError(Exception):
    """A user error (bad input, unreadable file): printed without a
    traceback."""


def parse_test_scale(value: Optional[str]):
    """``None`` | ``'original'`` | ``'S'`` (int) | ``'S,L'`` (tuple) | a
    float factor, from the command line string."""
    if value is None or value == 'original':
        return value
    try:
        if ',' in value:
            short, long = value.split(',')
            return (int(short), int(long) if long.strip() else None)
        if '.' in value:
            return float(value)
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--test-scale must be 'original', S, S,L or a float factor, "
            f'got {value!r}') from None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Face detection on an image, a folder or a video')
    parser.add_argument('input', help='image file, folder or video file')
    parser.add_argument('--config', required=True, help='model config')
    parser.add_argument(
        '--checkpoint',
        default=None,
        help="trained checkpoint; 'none': random weights "
        '(to try the tool; without --checkpoint the same, '
        'with a warning)')
    parser.add_argument(
        '--out-dir',
        default='outputs/infer',
        help='output folder (default outputs/infer)')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=None,
        help="detection score threshold (default: the "
        "config's test threshold)")
    parser.add_argument(
        '--draw-thr',
        type=float,
        default=0.5,
        help='draw faces scoring above this (default 0.5)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='images / frames per forward pass')
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:1')
    parser.add_argument(
        '--test-scale',
        type=parse_test_scale,
        default=None,
        help="'original', S, S,L or a float factor")
    parser.add_argument(
        '--pad-mixed-sizes',
        action='store_true',
        help='batch images of different sizes by padding '
        '(faster; can change detections at the borders)')
    parser.add_argument(
        '--no-vis', action='store_true', help='write only the JSON')
    parser.add_argument(
        '--no-scores',
        action='store_true',
        help='draw boxes and landmarks without score text')
    parser.add_argument(
        '--amp', action='store_true', help='autocast (float16 on CUDA)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    return parser.parse_args(argv)


def classify_input(path: str,
                   exclude: Optional[str] = None) -> Tuple[str, List[str]]:
    """``('image', [path])``, ``('folder', [files...])`` or
    ``('video', [path])``; raises :class:`InferError` otherwise.

    ``exclude``: a folder (the output folder) whose subtree is left out of a
    folder input, so that a rerun does not take the annotated outputs for
    inputs; when it is the input folder itself, its ``vis`` subfolder."""
    if not osp.exists(path):
        raise InferError(f'input not found: {path}')
    if osp.isdir(path):
        skip = None
        if exclude is not None:
            skip = osp.realpath(exclude)
            if skip == osp.realpath(path):
                skip = osp.join(skip, 'vis')
        files = []
        for root, dirs, names in os.walk(path):
            if skip is not None:
                dirs[:] = [
                    d for d in dirs if osp.realpath(osp.join(root, d)) != skip
                ]
            files += [
                osp.join(root, n) for n in names
                if n.lower().endswith(IMG_EXTS)
            ]
        if not files:
            raise InferError(f'no images ({", ".join(IMG_EXTS)}) in folder '
                             f'{path}')
        return 'folder', sorted(files)
    ext = osp.splitext(path)[1].lower()
    if ext in IMG_EXTS:
        return 'image', [path]
    if ext in VIDEO_EXTS:
        return 'video', [path]
    raise InferError(f'unsupported input file {path}: expected an image '
                     f'({", ".join(IMG_EXTS)}), a video '
                     f'({", ".join(VIDEO_EXTS)}) or a folder')


def planned_outputs(kind: str, files: List[str], root: str, args) -> List[str]:
    """Every file the run may write under ``args.out_dir``."""
    out = [osp.join(args.out_dir, 'detections.json')]
    if args.no_vis:
        return out
    if kind == 'video':
        stem = osp.splitext(osp.basename(files[0]))[0]
        return out + [
            osp.join(args.out_dir, f'{stem}_det{ext}')
            for ext in ('.mp4', '.avi')
        ]
    return out + [
        osp.join(args.out_dir, 'vis', osp.relpath(f, root)) for f in files
    ]


def prepare_out_dir(kind: str, files: List[str], root: str, args) -> None:
    """Create ``args.out_dir``; raise :class:`InferError` when it is a file
    or cannot be created, or when an output would overwrite an input."""
    out_dir = args.out_dir
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise InferError(f'--out-dir {out_dir} is a file, not a folder')
    inputs = {osp.realpath(f): f for f in files}
    for path in planned_outputs(kind, files, root, args):
        src = inputs.get(osp.realpath(path))
        if src is not None:
            raise InferError(
                f'the output {path} would overwrite the input {src}; choose '
                'an --out-dir whose vis/ folder holds no input images')
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise InferError(f'cannot create --out-dir {out_dir}: '
                         f'{e.strerror or e}') from None


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _detect_chunk(det, chunk: List[str], skip_bad: bool) -> list:
    """``det(chunk)``; with ``skip_bad``, when the batch fails on a bad
    image, the images one by one, ``(path, error message)`` for those that
    fail."""
    try:
        return det(chunk)
    except (ValueError, FileNotFoundError, OSError):
        if not skip_bad:
            raise
    results = []
    for path in chunk:
        try:
            results.append(det([path])[0])
        except (ValueError, FileNotFoundError, OSError) as e:
            results.append((path, str(e)))
    return results


def run_images(det,
               files: List[str],
               root: str,
               args,
               skip_bad: bool = False) -> Tuple[List[dict], List[dict]]:
    """Detect on image files; writes annotated copies under
    ``out_dir/vis``. With ``skip_bad`` (a folder) an unreadable image is
    skipped with a warning. Returns the JSON records and the skipped
    images (``path``, ``error``)."""
    records, skipped = [], []
    bar = ProgressBar(len(files), file=sys.stdout)
    for chunk in _chunks(files, max(1, args.batch_size) * 4):
        results = _detect_chunk(det, chunk, skip_bad)
        for path, res in zip(chunk, results):
            rel = osp.relpath(path, root).replace(os.sep, '/')
            if isinstance(res, tuple):
                skipped.append(dict(path=rel, error=res[1]))
                print(
                    f'\ninfer.py: warning: skipped {rel}: {res[1]}',
                    file=sys.stderr)
                bar.update()
                continue
            records.append(dict(file=rel, **res.to_dict()))
            if not args.no_vis:
                img = cv2.imread(path, cv2.IMREAD_COLOR)
                if img is None:
                    raise InferError(f'cannot read {path} to draw on it')
                vis = det.draw(
                    img, res, args.draw_thr, draw_scores=not args.no_scores)
                out = osp.join(args.out_dir, 'vis', rel)
                os.makedirs(osp.dirname(out), exist_ok=True)
                if not cv2.imwrite(out, vis):
                    raise InferError(f'cannot write {out}')
            bar.update()
    sys.stdout.write('\n')
    return records, skipped


def _open_writer(out_dir: str, stem: str, fps: float, size: Tuple[int, int]):
    for ext, fourcc in (('.mp4', 'mp4v'), ('.avi', 'MJPG')):
        path = osp.join(out_dir, f'{stem}_det{ext}')
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps,
                                 size)
        if writer.isOpened():
            return writer, path
        writer.release()
    raise InferError('OpenCV cannot write a video here (no mp4v / MJPG '
                     'encoder)')


def run_video(det, path: str, args) -> Tuple[List[dict], dict]:
    """Detect on every frame; writes ``<name>_det.mp4``. Returns the JSON
    records and the video info."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise InferError(f'cannot open video {path} (corrupt, or no '
                         'decoder for it)')
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    if not fps > 0 or fps > 1000:
        fps = 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    bar = ProgressBar(max(total, 0), file=sys.stdout)
    writer, out_path = None, None
    records: List[dict] = []
    frame_idx = 0
    try:
        while True:
            frames = []
            while len(frames) < max(1, args.batch_size):
                ok, frame = cap.read()
                if not ok:
                    break
                frames.append(frame)
            if not frames:
                break
            results = det(frames)
            for frame, res in zip(frames, results):
                records.append(dict(frame=frame_idx, **res.to_dict()))
                if not args.no_vis:
                    if writer is None:
                        h, w = frame.shape[:2]
                        stem = osp.splitext(osp.basename(path))[0]
                        writer, out_path = _open_writer(
                            args.out_dir, stem, fps, (w, h))
                    writer.write(
                        det.draw(
                            frame,
                            res,
                            args.draw_thr,
                            draw_scores=not args.no_scores))
                frame_idx += 1
                bar.update()
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    sys.stdout.write('\n')
    if frame_idx == 0:
        raise InferError(f'no frame could be read from video {path}')
    info = dict(
        fps=fps,
        num_frames=frame_idx,
        output=None if out_path is None else osp.relpath(
            out_path, args.out_dir))
    return records, info


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        kind, files = classify_input(args.input, exclude=args.out_dir)
        if not osp.isfile(args.config):
            raise InferError(f'config file not found: {args.config}')
        ckpt = args.checkpoint
        if ckpt is not None and ckpt.lower() == 'none':
            ckpt = None
        elif ckpt is not None and not osp.exists(ckpt) and \
                not ckpt.startswith(('http://', 'https://')):
            raise InferError(f'checkpoint file not found: {ckpt}')
        if args.batch_size < 1:
            raise InferError('--batch-size must be >= 1')
        for flag in ('score_thr', 'draw_thr'):
            value = getattr(args, flag)
            if value is not None and not 0 <= value <= 1:
                raise InferError(f'--{flag.replace("_", "-")} must be in '
                                 f'[0, 1], got {value}')
        root = args.input if kind == 'folder' else osp.dirname(
            osp.abspath(args.input))
        prepare_out_dir(kind, files, root, args)
        from mmdet_faces.apis import FaceDetector
        with warnings.catch_warnings():
            # said above, once, in the tool's words
            warnings.filterwarnings('ignore', 'FaceDetector: no checkpoint')
            det = FaceDetector(
                args.config,
                ckpt,
                device=args.device,
                test_scale=args.test_scale,
                score_thr=args.score_thr,
                batch_size=args.batch_size,
                pad_mixed_sizes=args.pad_mixed_sizes,
                amp=args.amp,
                cfg_options=args.cfg_options)
        if args.checkpoint is None:
            print(
                'infer.py: warning: no --checkpoint: the model has RANDOM '
                'weights and its detections are meaningless (give a '
                "trained checkpoint, or --checkpoint none to mean it)",
                file=sys.stderr)
        summary = dict(
            input=osp.abspath(args.input),
            type='video' if kind == 'video' else 'images',
            config=args.config,
            checkpoint=ckpt,
            random_weights=ckpt is None,
            score_thr=float(det.cfg.model.test_cfg.get('score_thr', 0.)),
            test_scale=args.test_scale,
        )
        if kind == 'video':
            records, info = run_video(det, files[0], args)
            summary['video'] = info
        else:
            records, skipped = run_images(
                det, files, root, args, skip_bad=kind == 'folder')
            summary['skipped'] = skipped
        summary['results'] = records
        out_json = osp.join(args.out_dir, 'detections.json')
        with open(out_json, 'w') as f:
            json.dump(summary, f)
    except (InferError, FileNotFoundError, ValueError, TypeError) as e:
        print(f'infer.py: error: {e}', file=sys.stderr)
        return 2
    num = sum(len(r['scores']) for r in records)
    unit = 'frames' if kind == 'video' else 'images'
    print(f'{len(records)} {unit}, {num} faces (score > '
          f'{summary["score_thr"]}); detections: {out_json}' +
          ('' if args.no_vis else f'; annotated {unit}: {args.out_dir}'))
    if summary.get('skipped'):
        print(f'{len(summary["skipped"])} unreadable images skipped (listed '
              f'under "skipped" in {out_json})')
        if not records:  # nothing could be read: a failure, not a result
            print(
                'infer.py: error: every image was skipped, e.g. '
                f'{summary["skipped"][0]["path"]}: '
                f'{summary["skipped"][0]["error"]}',
                file=sys.stderr)
            return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
