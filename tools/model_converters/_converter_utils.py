# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Helpers shared by the checkpoint converters of this folder.

Standard library only (neither torch nor mmdet nor mmengine): the converters
load this file by path, so they stay runnable, and importable by path,
without an installed ``mmdet_faces``.
"""
import argparse
import sys
from collections import OrderedDict
from typing import Any, Callable, Mapping, Sequence, Type


def strip_prefix(state_dict: Mapping[str, Any],
                 prefix: str = 'module.') -> 'OrderedDict[str, Any]':
    """Remove ``prefix`` (DataParallel's ``module.``) from the keys.

    Args:
        state_dict (Mapping): A state dict.
        prefix (str): Key prefix to remove where present.
            Defaults to ``'module.'``.

    Returns:
        OrderedDict: The state dict with the same order and values.
    """
    out = OrderedDict()
    for k, v in state_dict.items():
        if k.startswith(prefix):
            k = k[len(prefix):]
        out[k] = v
    return out


def mismatch_report(title: str,
                    unmapped: Sequence[str],
                    missing: Sequence[str],
                    bad_shapes: Sequence[str],
                    unmapped_label: str = 'unmapped key(s)') -> str:
    """The message that refuses a checkpoint whose keys do not fit.

    Args:
        title (str): First line.
        unmapped (Sequence[str]): Source keys without a target.
        missing (Sequence[str]): Target keys without a source.
        bad_shapes (Sequence[str]): Descriptions of shape mismatches.
        unmapped_label (str): How ``unmapped`` is counted in the message.
            Defaults to ``'unmapped key(s)'``.

    Returns:
        str: One line per non-empty list below ``title``; ``''`` when all
        lists are empty.
    """
    lines = [title]
    for items, label, sep in ((unmapped, unmapped_label, ', '),
                              (missing, 'missing key(s)', ', '),
                              (bad_shapes, 'shape mismatch(es)', '; ')):
        if items:
            lines.append(f'  {len(items)} {label}: ' + sep.join(items))
    return '\n'.join(lines) if len(lines) > 1 else ''


def build_parser(description: str) -> argparse.ArgumentParser:
    """Argument parser with the ``src`` and ``dst`` of every converter.

    Args:
        description (str): Parser description.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='reference checkpoint')
    parser.add_argument('dst', help='output mmengine checkpoint')
    return parser


def run_conversion(convert: Callable[[], Any], error: Type[Exception],
                   refused: str, done: Callable[[Any], str]) -> int:
    """Run a conversion for a converter's ``main``.

    Args:
        convert (Callable): Converts and saves; its result goes to ``done``.
        error (type): Exception that refuses the source checkpoint.
        refused (str): Printed before the refusal message (to stderr).
        done (Callable): Gives the line printed after a conversion.

    Returns:
        int: Exit code, 0 (converted) or 1 (refused).
    """
    try:
        result = convert()
    except error as e:
        print(f'{refused}: {e}', file=sys.stderr)
        return 1
    print(done(result))
    return 0
