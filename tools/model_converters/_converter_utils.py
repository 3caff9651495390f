# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Helpers shared by the checkpoint converters of this folder.

A converter reads SRC with :func:`load_source` (weights only, one-line
errors for missing, empty, truncated, foreign or code-holding files), checks
its paths with :func:`check_src_dst` (DST must not be SRC), writes DST with
:func:`save_atomic` and runs from ``main`` through :func:`run_conversion`.

Standard library only at import (torch and ``mmcv_patches`` are imported
when used): the converters load this file by path, so they stay runnable,
and importable by path, without an installed ``mmdet_faces``.
"""
import argparse
import importlib.util
import os.path as osp
import sys
from collections import OrderedDict
from typing import Any, Callable, Mapping, Sequence, Type


def _load_output_paths():
    """``tools/output_paths.py`` (standard library only), by path."""
    name = '_mmdet_faces_tools_output_paths'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name,
            osp.join(
                osp.dirname(osp.dirname(osp.abspath(__file__))),
                'output_paths.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


output_paths = _load_output_paths()
#: SRC and DST that cannot be used (DST is SRC, DST is a folder)
ConverterPathError = output_paths.OutputPathError


def load_source(src: str) -> Any:
    """Load the source checkpoint ``src`` as weights only.

    Args:
        src (str): Checkpoint path.

    Returns:
        Any: What ``torch.load`` returns, on the CPU.

    Raises:
        mmcv_patches.CheckpointLoadError: one line naming ``src`` and why
            it cannot be loaded (missing, empty, truncated, not a
            checkpoint, or holding code; nothing of it runs).
    """
    from mmcv_patches.checkpoint import safe_load
    return safe_load(src, map_location='cpu')


def check_src_dst(src: str, dst: str) -> None:
    """Refuse a DST that would overwrite SRC (same path, a link to it or a
    hard link) or that is a folder.

    Args:
        src (str): Input checkpoint.
        dst (str): Output checkpoint.

    Raises:
        ConverterPathError: naming both paths.
    """
    output_paths.check_not_input(
        dst, [('SRC', src)], 'DST',
        'converting would overwrite the source checkpoint')


def save_atomic(obj: Any, dst: str) -> None:
    """``torch.save(obj, dst)`` through a temporary file in the folder of
    ``dst``, renamed over it when complete: an interrupted run leaves no
    partial DST (and an old DST intact).

    Args:
        obj (Any): What to save.
        dst (str): Output path; its folder is created.
    """
    import torch
    with output_paths.atomic_output(dst) as tmp, open(tmp, 'wb') as f:
        torch.save(obj, f)


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


def unwrap_state_dict(
    checkpoint: Any,
    error: Type[Exception],
    wrappers: Sequence[str] = ('state_dict', )
) -> 'OrderedDict[str, Any]':
    """The state dict of a loaded checkpoint, without ``module.``.

    Args:
        checkpoint (Any): What ``torch.load`` returned.
        error (type): Raised (with the type found) for a non-mapping.
        wrappers (Sequence[str]): Keys that may wrap the state dict, the
            first present one is taken. Defaults to ``('state_dict', )``.

    Returns:
        OrderedDict: The (unwrapped, unprefixed) state dict.
    """
    if not isinstance(checkpoint, Mapping):
        raise error(f'expected a dict, got {type(checkpoint).__name__}')
    for key in wrappers:
        if isinstance(checkpoint.get(key), Mapping):
            checkpoint = checkpoint[key]
            break
    return strip_prefix(checkpoint)


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
    for items, label, sep in ((unmapped, unmapped_label,
                               ', '), (missing, 'missing key(s)', ', '),
                              (bad_shapes, 'shape mismatch(es)', '; ')):
        if items:
            lines.append(f'  {len(items)} {label}: ' + sep.join(items))
    return '\n'.join(lines) if len(lines) > 1 else ''


def fit_state_dict(state_dict: Mapping[str, Any], target: Mapping[str, Any],
                   map_key: Callable[[str], Any]) -> tuple:
    """Map ``state_dict`` onto the keys and shapes of ``target``.

    Args:
        state_dict (Mapping): Source tensors by source key.
        target (Mapping): Tensors (or anything with ``shape``) by target key.
        map_key (Callable): Source key -> target key, None when it does not
            map.

    Returns:
        tuple: ``converted`` (OrderedDict in ``target``'s order, cloned
        tensors), ``unmapped`` (source keys without a target key, or not
        tensors), ``missing`` (target keys without a source) and
        ``bad_shapes`` (descriptions) lists.
    """
    converted, unmapped, bad_shapes, misfit = {}, [], [], set()
    for k, v in state_dict.items():
        new = map_key(k)
        if new is None or new not in target:
            unmapped.append(k)
        elif not hasattr(v, 'shape') or not hasattr(v, 'detach'):
            unmapped.append(f'{k} (not a tensor)')
        elif tuple(v.shape) != tuple(target[new].shape):
            bad_shapes.append(f'{k}: {tuple(v.shape)} -> {new} expects '
                              f'{tuple(target[new].shape)}')
            misfit.add(new)
        else:
            converted[new] = v.detach().clone()
    missing = [k for k in target if k not in converted and k not in misfit]
    ordered = OrderedDict((k, converted[k]) for k in target if k in converted)
    return ordered, unmapped, missing, bad_shapes


def save_converted(dst: str, state_dict: Mapping[str, Any], src: str,
                   source: str, **meta: Any) -> None:
    """Write an mmengine checkpoint ``{'state_dict', 'meta'}`` of faces
    with :func:`save_atomic`.

    Args:
        dst (str): Output path (its folder is created).
        state_dict (Mapping): The converted weights.
        src (str): The source file (its name goes to ``converted_from``).
        source (str): The project the source comes from.
        **meta: Further ``meta`` entries.
    """
    meta = dict(
        converted_from=osp.basename(src),
        source=source,
        dataset_meta=dict(classes=('face', )),
        **meta)
    save_atomic(dict(state_dict=state_dict, meta=meta), dst)


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
        int: Exit code, 0 (converted), 1 (source refused: ``error``, or a
        file that is no loadable checkpoint) or 2 (SRC / DST unusable).
    """
    from mmcv_patches.checkpoint import CheckpointLoadError
    try:
        result = convert()
    except ConverterPathError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    except CheckpointLoadError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except error as e:
        print(f'{refused}: {e}', file=sys.stderr)
        return 1
    print(done(result))
    return 0
