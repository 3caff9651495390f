# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Output-path checks the command line tools share (not a tool itself).

No tool overwrites an input or an existing data set without ``--force``:

* :func:`same_file`: two paths name one file (also through a symbolic or a
  hard link);
* :func:`check_not_input`: refuse an output that is one of the inputs;
* :func:`check_new_output`: refuse an output that exists, unless forced;
* :func:`atomic_output`: write through a temporary file renamed over the
  output when complete (an interrupted run leaves no partial file, and an
  old one intact).

Standard library only: the model converters load it by path and
``make_wider_val_list.py`` needs nothing else.
"""
import contextlib
import os
import os.path as osp
import tempfile
from typing import Iterable, Iterator, Tuple


class OutputPathError(ValueError):
    """An output path a tool refuses; the message is one line naming it."""


def same_file(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` name the same file (the same path, a link to
    it or a hard link).

    Args:
        a (str): A path.
        b (str): Another path.

    Returns:
        bool: True when writing ``a`` would change ``b``.
    """
    if osp.realpath(a) == osp.realpath(b):
        return True
    try:
        return osp.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def check_not_input(
        out: str,
        inputs: Iterable[Tuple[str, str]],
        option: str = 'OUT',
        consequence: str = 'writing it would destroy that input') -> None:
    """Refuse ``out`` when it is one of ``inputs`` or a folder.

    Args:
        out (str): The output path.
        inputs (Iterable[tuple[str, str]]): ``(what, path)`` of each input,
            e.g. ``('CHECKPOINT', 'model.pth')``.
        option (str): How the output is named in the message.
            Defaults to ``'OUT'``.
        consequence (str): What writing it would do, for the message.

    Raises:
        OutputPathError: naming ``out`` (and the input where it is spelled
            differently).
    """
    for what, path in inputs:
        if same_file(out, path):
            same = '' if out == path else f' {path}'
            raise OutputPathError(
                f'{option} {out} is the input {what}{same}: {consequence}; '
                'write to another path')
    if osp.isdir(out):
        raise OutputPathError(
            f'{option} {out} is a folder; give the output file path')


def check_new_output(out: str, force: bool, option: str = 'DST') -> None:
    """Refuse an ``out`` that exists unless ``force``, and a folder.

    Args:
        out (str): The output path.
        force (bool): Replace an existing file (``--force``).
        option (str): How the output is named in the message.
            Defaults to ``'DST'``.

    Raises:
        OutputPathError: naming ``out``.
    """
    if osp.isdir(out):
        raise OutputPathError(
            f'{option} {out} is a folder; give the output file path')
    if osp.lexists(out) and not force:
        raise OutputPathError(
            f'{option} {out} exists; pass --force to replace it')


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """A temporary path beside ``path`` to write to; renamed over ``path``
    when the block ends without an error, removed otherwise.

    Args:
        path (str): The output file; its folder is created.

    Yields:
        str: The temporary file's path (an empty file; the permissions
        ``path`` gets from the umask).
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    os.close(fd)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
