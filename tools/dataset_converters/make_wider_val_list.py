# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Write ``wider_val.txt`` (one ``/<event>/<name>.jpg`` per line, sorted).

Example::

    python tools/dataset_converters/make_wider_val_list.py \
        data/widerface/val/images data/widerface/val/wider_val.txt

Lists every image file (.jpg, .jpeg, .png, .bmp) below VAL_IMAGES_DIR with
its path relative to it and a leading slash, as biubug6's
``test_widerface.py`` expects. Errors (missing folder, no images, image
paths that a list cannot hold: with blanks, which separate values in a
list, or not UTF-8) print one line and exit with code 2 without writing the
list. An existing OUT_TXT is not replaced unless ``--force``; the list is
written atomically. Needs only the Python standard library.
"""
import argparse
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from tools.output_paths import OutputPathError, atomic_output, check_new_output

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


def list_images(images_dir: str):
    """Sorted ``/<relative>/<path>`` of the images below ``images_dir``."""
    names = []
    for root, dirs, files in os.walk(images_dir):
        dirs.sort()
        rel = osp.relpath(root, images_dir)
        for f in files:
            if f.lower().endswith(IMG_EXTENSIONS):
                path = f if rel == '.' else osp.join(rel, f)
                names.append('/' + path.replace(os.sep, '/'))
    return sorted(names)


def unlistable(names):
    """The names an image list cannot hold: a reader takes any byte
    <= 32 as a separator, and the list is UTF-8."""
    bad = []
    for name in names:
        try:
            name.encode('utf-8')
        except UnicodeEncodeError:  # undecodable bytes in the file name
            bad.append(name)
            continue
        if any(ord(c) <= 32 for c in name) or name != name.strip():
            bad.append(name)
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('images_dir', help='e.g. data/widerface/val/images')
    parser.add_argument(
        'out_txt', help='e.g. data/widerface/val/'
        'wider_val.txt')
    parser.add_argument(
        '--force', action='store_true', help='replace an existing OUT_TXT')
    args = parser.parse_args(argv)
    if not osp.isdir(args.images_dir):
        print(
            f'error: image folder not found: {args.images_dir}',
            file=sys.stderr)
        return 2
    names = list_images(args.images_dir)
    if not names:
        print(
            f'error: no images ({", ".join(IMG_EXTENSIONS)}) below '
            f'{args.images_dir}',
            file=sys.stderr)
        return 2
    bad = unlistable(names)
    if bad:
        shown = bad[0].encode('utf-8', 'backslashreplace').decode('utf-8')
        print(
            f'error: {len(bad)} of {len(names)} image paths below '
            f'{args.images_dir} contain blanks or control characters, or '
            f'are not UTF-8, which a list (one path per line, '
            f'whitespace-separated) cannot hold; first: {shown!r}. Rename '
            'those images',
            file=sys.stderr)
        return 2
    try:
        check_new_output(args.out_txt, args.force, 'OUT_TXT')
    except OutputPathError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    with atomic_output(args.out_txt) as tmp, \
            open(tmp, 'w', encoding='utf-8') as f:
        f.write('\n'.join(names) + '\n')
    print(f'wrote {len(names)} images to {args.out_txt}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
