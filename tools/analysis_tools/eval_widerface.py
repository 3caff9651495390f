# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Evaluate a WIDER Face prediction folder: easy / medium / hard AP.

The numbers are those of the widely used Python port of the official
toolkit (see ``mmdet_faces/evaluation/functional/widerface_ap.py``), from
any detector's output in the official layout (``<event>/<name>.txt``: image
name, box count, ``x y w h score`` rows).

usage: python tools/analysis_tools/eval_widerface.py PRED_DIR GT_DIR
       [--out-json FILE] [--plot FILE.png] [--iou-thr 0.5]

``GT_DIR`` holds the four official .mat files (the toolkit's
``ground_truth/``). The JSON has ``easy``, ``medium``, ``hard`` (floats),
``seconds`` (reading the predictions and evaluating), ``iou_thr``,
``num_faces``, ``detections`` (of the ground-truth images: evaluated) and
``detections_not_evaluated`` (of other images). Errors (missing folders or
files, malformed predictions) are printed on one line and exit with status
2. Warnings (the APs are those
of the protocol but probably not what was meant: every score equal,
prediction files of images outside the ground truth, which take part in the
score normalisation, counted with their detections, or boxes with a negative
width or height, counted) are printed on one line each, before the results.
Ground-truth setting files that do not nest (easy within medium within hard,
as the official ones do: swapped files) are an error. ``--out-json`` and
``--plot`` may not name an input (a ground-truth file, a prediction file,
also through a link) nor each other, and ``--plot`` must have an image
extension matplotlib writes; both are checked before evaluating and
written atomically.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
import warnings

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmdet_faces.evaluation import functional as wfe
from mmdet_faces.utils import relay_warnings
from tools.output_paths import (OutputPathError, atomic_output,
                                check_not_input, same_file)

SETTINGS = wfe.WIDERFACE_SETTINGS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='WIDER Face easy/medium/hard AP of a prediction folder')
    parser.add_argument(
        'pred_dir', help='prediction folder <event>/<name>.txt')
    parser.add_argument(
        'gt_dir', help='folder with the four WIDER Face val .mat files')
    parser.add_argument('--out-json', help='write the results here')
    parser.add_argument(
        '--plot', help='draw the three precision-recall curves (png)')
    parser.add_argument(
        '--iou-thr', type=float, default=0.5, help='IoU threshold (0.5)')
    return parser.parse_args(argv)


def plot_formats() -> list:
    """The file extensions matplotlib writes (``png``, ``pdf``, ...)."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib.figure import Figure
    return sorted(Figure().canvas.get_supported_filetypes())


def check_outputs(args) -> None:
    """Refuse ``--out-json`` / ``--plot`` that name an input file or each
    other, and a ``--plot`` format matplotlib cannot write.

    Raises:
        OutputPathError: one line naming the option and the file.
    """
    inputs = [('ground-truth file', osp.join(args.gt_dir, name))
              for _, name in wfe.GT_FILES]
    for root, _, names in os.walk(args.pred_dir):
        inputs += [('prediction file', osp.join(root, n)) for n in names]
    outputs = [(opt, path) for opt, path in (('--out-json', args.out_json),
                                             ('--plot', args.plot)) if path]
    for opt, path in outputs:
        check_not_input(path, inputs, opt)
    if len(outputs) == 2 and same_file(args.plot, args.out_json):
        raise OutputPathError(
            f'--plot {args.plot} is also --out-json: the figure would '
            'overwrite the JSON; write them to two paths')
    if args.plot:
        ext = osp.splitext(args.plot)[1][1:].lower()
        formats = plot_formats()
        if ext not in formats:
            raise OutputPathError(
                f'--plot {args.plot}: matplotlib writes no '
                f'{"." + ext if ext else "extension-less"} files; give one '
                f'of .{", .".join(formats)}')


def plot_pr_curves(result, path):
    """Three panels, one per setting, like the official figures.

    Args:
        result (dict): Output of ``evaluate_widerface``.
        path (str): The image file to write (atomically; the format from
            its extension).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    for ax, setting in zip(axes, SETTINGS):
        curve = result['curves'][setting]
        keep = curve['proposals'] > 0  # precision is undefined elsewhere
        ax.plot(
            curve['recall'][keep],
            curve['precision'][keep],
            linewidth=2,
            label=f'AP = {result[setting]:.3f}')
        ax.set_title(f'WIDER Face val: {setting} set')
        ax.set_xlabel('Recall')
        ax.set_ylabel('Precision')
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.grid(True, linestyle=':')
        ax.legend(loc='lower left')
    fig.tight_layout()
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=100, format=osp.splitext(path)[1][1:])
    finally:
        plt.close(fig)


def main(argv=None):
    args = parse_args(argv)

    def fail(msg):
        print(f'eval_widerface: error: {msg}', file=sys.stderr)
        return 2

    if not osp.isdir(args.pred_dir):
        return fail(f'prediction folder not found: {args.pred_dir}')
    if not osp.isdir(args.gt_dir):
        return fail(f'ground-truth folder not found: {args.gt_dir}')
    if not 0 < args.iou_thr <= 1:
        return fail(f'--iou-thr must be in (0, 1], got {args.iou_thr}')
    try:
        check_outputs(args)
    except OutputPathError as e:
        return fail(e)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', wfe.WIDERFaceEvalWarning)
            gt = wfe.load_widerface_gt(args.gt_dir)
            t0 = time.perf_counter()
            preds = wfe.read_widerface_preds(args.pred_dir, gt)
            result = wfe.evaluate_widerface(preds, gt, iou_thr=args.iou_thr)
            seconds = time.perf_counter() - t0
    except (OSError, ValueError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        return fail(' '.join(str(msg).split()))
    relay_warnings(
        caught, wfe.WIDERFaceEvalWarning,
        lambda msg: print(f'eval_widerface: warning: {msg}', file=sys.stderr))

    # ground-truth images first: the detections that are evaluated
    evaluated = int(preds['offsets'][len(gt['names'])])
    print(f'WIDER Face val AP ({evaluated:,} detections, '
          f'{len(gt["names"]):,} images, iou_thr={args.iou_thr:g}, '
          f'{seconds:.2f} s)')
    print(f'{"setting":<8} {"AP":>8} {"faces":>7}')
    for s in SETTINGS:
        print(f'{s:<8} {result[s] * 100:>8.2f} {result["num_faces"][s]:>7d}')

    if args.out_json:
        out = {s: float(result[s]) for s in SETTINGS}
        out.update(
            seconds=seconds,
            iou_thr=args.iou_thr,
            num_faces=result['num_faces'],
            detections=evaluated,
            detections_not_evaluated=int(len(preds['dets'])) - evaluated)
        try:
            with atomic_output(args.out_json) as tmp, open(tmp, 'w') as f:
                json.dump(out, f, indent=2)
        except OSError as e:
            return fail(f'cannot write {args.out_json}: {e}')
    if args.plot:
        try:
            plot_pr_curves(result, args.plot)
        except OSError as e:
            return fail(f'cannot write {args.plot}: {e}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
