# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Convert WIDER Face labels: RetinaFace ``label.txt`` <-> official split.

Example::

    # official -> RetinaFace (landmarks written as -1, blur kept as the
    # 20th number; expression, illumination, invalid, occlusion and pose
    # have no place in label.txt: a note counts the faces that lose one)
    python tools/dataset_converters/convert_widerface_labels.py \
        wider_face_split/wider_face_train_bbx_gt.txt train/label.txt \
        --to retinaface
    # RetinaFace -> official (attributes written as 0 when unknown; the
    # 20th number is kept as blur only if it is 0, 1 or 2)
    python tools/dataset_converters/convert_widerface_labels.py \
        train/label.txt wider_face_train_bbx_gt.txt --to official

The source format is detected from its content unless ``--from`` is given.
DST may not be SRC (also through a link) and is not replaced when it exists
unless ``--force``; it is written atomically.
Errors (missing file, malformed line: file and line number) print one line
and exit with code 2; warnings about the source (e.g. an image listed twice)
print one ``warning:`` line each.
"""
import argparse
import os.path as osp
import sys
import warnings

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmdet_faces.datasets import widerface_io as io
from tools.output_paths import (OutputPathError, check_new_output,
                                check_not_input)


def _lost_attributes(ann) -> str:
    """Note on the attributes label.txt cannot hold (all but blur), e.g.
    the ``invalid`` flag that ``WIDERFaceLandmarkDataset(ignore_invalid)``
    reads: how many faces had one set (not 0, and not -1 = unknown)."""
    is_set = {
        k: (a != 0) & (a != -1)
        for k, a in ann.attributes.items() if k != 'blur'
    }
    if ann.num_faces == 0 or not any(v.any() for v in is_set.values()):
        return ''
    num_faces = int(sum(is_set.values()).astype(bool).sum())
    counts = ', '.join(f'{k} {int(v.sum())}' for k, v in is_set.items()
                       if v.any())
    note = (f'; {num_faces} faces had attributes that the RetinaFace '
            f'format cannot hold and were not kept ({counts})')
    if 'invalid' in is_set and is_set['invalid'].any():
        note += ('; without the invalid flags, ignore_invalid has no '
                 'effect on the converted file')
    return note


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='source annotation file')
    parser.add_argument('dst', help='destination file')
    parser.add_argument(
        '--to',
        required=True,
        choices=['retinaface', 'official'],
        help='destination format')
    parser.add_argument(
        '--from',
        dest='src_format',
        default='auto',
        choices=['auto', 'retinaface', 'official'],
        help='source format (default: detect)')
    parser.add_argument(
        '--force', action='store_true', help='replace an existing DST')
    args = parser.parse_args(argv)
    try:
        check_not_input(args.dst, [('SRC', args.src)], 'DST',
                        'converting would overwrite the source annotations')
        check_new_output(args.dst, args.force)
    except OutputPathError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', io.WiderAnnotationWarning)
            ann = io.load_wider_annotations(args.src, args.src_format)
    except (OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    for w in caught:
        print(f'warning: {w.message}', file=sys.stderr)
    if ann.ann_format == 'list':
        print(
            f'error: {args.src} is an image list (no boxes); expected a '
            'RetinaFace label.txt or an official *_bbx_gt.txt',
            file=sys.stderr)
        return 2
    try:
        if args.to == 'retinaface':
            io.write_retinaface_labels(args.dst, ann)
        else:
            io.write_official_labels(args.dst, ann)
    except (OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    lost = ''
    if args.to == 'official' and ann.has_landmarks.any():
        lost = (f'; landmarks of {int(ann.has_landmarks.sum())} faces are '
                'not part of the official format')
    if args.to == 'retinaface':
        lost = _lost_attributes(ann)
    print(f'{ann.ann_format} -> {args.to}: {ann.num_images} images, '
          f'{ann.num_faces} faces written to {args.dst}{lost}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
