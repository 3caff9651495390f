# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Helpers shared by the synthetic data generators.

Argument checks, the output folder, file writers and the command line of
:mod:`.widerface` and :mod:`.coco`.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Callable, Optional, Tuple

import cv2
import numpy as np

MARKER = '.complete'
# written first, replaced by MARKER at the end: the folder is ours
IN_PROGRESS = '.in_progress'


# --------------------------------------------------------------------------
# argument checks and output folder
# --------------------------------------------------------------------------
def check_count(name: str, value, minimum: int = 0) -> int:
    """Return ``value`` as int or raise a ValueError naming ``name``."""
    if isinstance(value,
                  (bool, np.bool_)) or not isinstance(value,
                                                      (int, np.integer)):
        raise ValueError(f'{name} must be an integer, got {value!r}')
    if value < minimum:
        raise ValueError(f'{name} must be >= {minimum}, got {value}')
    return int(value)


def check_common_args(num_train, num_val, seed,
                      max_size) -> Tuple[int, int, int, int]:
    """Check the arguments every generator takes.

    Args:
        num_train (int): Number of train images (>= 0).
        num_val (int): Number of val images (>= 0).
        seed (int): Random seed (>= 0).
        max_size (int): Longest image side in px (>= 64).

    Returns:
        tuple[int]: ``(num_train, num_val, seed, max_size)`` as ints.
    """
    return (check_count('num_train',
                        num_train), check_count('num_val', num_val),
            check_count('seed', seed), check_count('max_size', max_size, 64))


def check_path(out_dir) -> str:
    """Return ``out_dir`` as an absolute path or raise a ValueError."""
    if not isinstance(out_dir, (str, os.PathLike)) or not os.fspath(out_dir):
        raise ValueError(f'out_dir must be a non-empty path, got {out_dir!r}')
    return osp.abspath(os.fspath(out_dir))


def own_marker(out_dir: str, generator: str) -> Optional[str]:
    """The marker of ``generator`` that ``out_dir`` holds: :data:`MARKER`
    (complete), :data:`IN_PROGRESS` (interrupted) or None."""
    for name in (MARKER, IN_PROGRESS):
        try:
            with open(osp.join(out_dir, name)) as f:
                if json.load(f).get('generator') == generator:
                    return name
        except (OSError, ValueError, AttributeError):
            pass
    return None


def prepare_out_dir(out_dir: str, generator: str, force: bool = False) -> str:
    """Create ``out_dir``, check that it is writable and mark it as being
    written by ``generator`` (an old ``.complete`` is removed, so an
    interrupted regeneration is never taken as done).

    A folder that is not empty and holds no marker of ``generator`` (a real
    data set, another tool's output) is refused unless ``force``.

    Args:
        out_dir (str): Output folder.
        generator (str): Name of the generator, kept in the markers.
        force (bool): Write into a folder of other files too. Defaults to
            False.

    Returns:
        str: The absolute output folder.

    Raises:
        FileExistsError: naming what the folder holds.
        OSError: the folder cannot be created or written.
    """
    out_dir = check_path(out_dir)
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise OSError(f'output path {out_dir} exists and is not a directory')
    entries = sorted(os.listdir(out_dir)) if osp.isdir(out_dir) else []
    if entries and not force and own_marker(out_dir, generator) is None:
        shown = ', '.join(e + '/' * osp.isdir(osp.join(out_dir, e))
                          for e in entries[:6])
        more = f' and {len(entries) - 6} more' if len(entries) > 6 else ''
        raise FileExistsError(
            f'{out_dir} is not empty and was not written by this generator '
            f'(it holds {shown}{more}); refusing to overwrite it: give a new '
            'or empty folder, or --force to write into it anyway')
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise OSError(f'cannot create output directory {out_dir}: '
                      f'{e.strerror or e}') from None
    probe = osp.join(out_dir, f'.write_test_{os.getpid()}')
    try:
        with open(probe, 'w') as f:
            f.write('ok')
        os.remove(probe)
    except OSError as e:
        raise OSError(f'output directory {out_dir} is not writable: '
                      f'{e.strerror or e}') from None
    marker = osp.join(out_dir, MARKER)
    if osp.isfile(marker):
        os.remove(marker)
    write_file(
        osp.join(out_dir, IN_PROGRESS),
        json.dumps(dict(generator=generator)) + '\n')
    return out_dir


# --------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------
def make_dir(path: str):
    """Create folder ``path`` (and its parents) if it does not exist."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise OSError(f'cannot create directory {path}: '
                      f'{e.strerror or e}') from None


def write_file(path: str, data, binary: bool = False):
    """Write ``data`` (str, or bytes if ``binary``) to ``path``, creating its
    folder; text is UTF-8 with ``\\n`` line ends on every platform."""
    make_dir(osp.dirname(path))
    if binary:
        with open(path, 'wb') as f:
            f.write(data)
    else:
        with open(path, 'w', encoding='utf-8', newline='\n') as f:
            f.write(data)


def write_jpg(path: str, img: np.ndarray, name: str):
    """Write ``img`` (uint8 BGR) to ``path`` as a quality-92 JPEG.

    Args:
        path (str): Output file.
        img (np.ndarray): The image.
        name (str): Image name for the error message.
    """
    ok, buf = cv2.imencode('.jpg', img, [int(cv2.IMWRITE_JPEG_QUALITY), 92])
    if not ok:
        raise OSError(f'cannot encode {name}')
    write_file(path, buf.tobytes(), binary=True)


def write_marker(out_dir: str, summary: dict):
    """Write ``summary`` (with its ``generator``) as JSON to
    ``out_dir/.complete`` (written last: it marks the folder as complete)
    and remove the in-progress marker."""
    write_file(
        osp.join(out_dir, MARKER),
        json.dumps(summary, indent=2, sort_keys=True) + '\n')
    in_progress = osp.join(out_dir, IN_PROGRESS)
    if osp.isfile(in_progress):
        os.remove(in_progress)


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------
def build_parser(description: str, out_dir_help: str, num_images: int,
                 max_size: int) -> argparse.ArgumentParser:
    """The argument parser every generator's command line starts from.

    Args:
        description (str): Parser description.
        out_dir_help (str): Help of the ``out_dir`` argument.
        num_images (int): Default of ``--num-images`` (train images).
        max_size (int): Default of ``--max-size``.

    Returns:
        argparse.ArgumentParser: Parser with ``out_dir``, ``--num-images``,
        ``--num-val``, ``--seed``, ``--max-size`` and ``--force``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('out_dir', help=out_dir_help)
    parser.add_argument(
        '--num-images',
        type=int,
        default=num_images,
        help=f'number of train images (default {num_images})')
    parser.add_argument(
        '--num-val',
        type=int,
        default=None,
        help='number of val images (default: a quarter of '
        '--num-images)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--max-size',
        type=int,
        default=max_size,
        help=f'longest image side in px (default {max_size})')
    parser.add_argument(
        '--force',
        action='store_true',
        help='regenerate even if OUT_DIR/.complete exists; '
        'write into a folder of other files (a real data '
        'set!) too')
    return parser


def run_generator(args: argparse.Namespace, prog: str, generate: Callable,
                  generator: str, **kwargs) -> int:
    """Check the arguments of :func:`build_parser` and run ``generate``.

    Skips a folder that holds the ``.complete`` of ``generator`` unless
    ``args.force``. Errors (a folder of other files among them) are printed
    as one line ``<prog>: error: ...``.

    Args:
        args (argparse.Namespace): Parsed arguments.
        prog (str): Program name for error messages.
        generate (Callable): Called as ``generate(out_dir, num_train=...,
            num_val=..., seed=..., max_size=..., force=..., **kwargs)``.
        generator (str): The generator's name (in its markers).
        **kwargs: More arguments of ``generate``.

    Returns:
        int: Exit code, 0 (generated or skipped) or 2 (error).
    """
    for flag, value, low in (('--num-images', args.num_images,
                              0), ('--num-val', args.num_val, 0),
                             ('--seed', args.seed, 0), ('--max-size',
                                                        args.max_size, 64)):
        if value is not None and value < low:
            print(
                f'{prog}: error: {flag} must be >= {low}, got {value}',
                file=sys.stderr)
            return 2
    num_val = args.num_val
    if num_val is None:
        num_val = max(args.num_images // 4, 1) if args.num_images > 0 else 0
    if own_marker(args.out_dir, generator) == MARKER and not args.force:
        print(f'{args.out_dir} is already generated '
              f'({osp.join(args.out_dir, MARKER)} exists); use --force to '
              'regenerate')
        return 0
    try:
        generate(
            args.out_dir,
            num_train=args.num_images,
            num_val=num_val,
            seed=args.seed,
            max_size=args.max_size,
            force=args.force,
            **kwargs)
    except (ValueError, OSError) as e:
        print(f'{prog}: error: {e}', file=sys.stderr)
        return 2
    return 0
