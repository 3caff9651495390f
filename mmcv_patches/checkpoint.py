"""The one checkpoint loader of the project: weights only, never code.

* :func:`safe_load`: ``torch.load(weights_only=True)`` with the allow-list
  of :func:`~mmcv_patches.compat.checkpoint_safe_globals` (what mmengine
  checkpoints hold besides tensors). A file that cannot be loaded raises a
  :class:`CheckpointLoadError` of one line naming the file and why: missing,
  a directory, empty, truncated, not a checkpoint, or holding code
  (:class:`UnsafeCheckpointError`; nothing of it runs).
* ``checkpoint.safe_load`` patch: every load of mmengine's
  ``CheckpointLoader`` goes through :func:`safe_load`, so
  ``load_checkpoint``, ``_load_checkpoint``, the runner's ``load_from`` and
  ``resume``, ``Pretrained`` init and mmdet's ``init_detector`` /
  ``DetInferencer`` load weights only, on every torch version, from local
  files, ``http(s)://`` (which ``torch.hub`` unpickles with weights-only
  loading switched off) and the other schemes.
"""
import functools
import io
import os
import os.path as osp
import pickle
import re
import types
import zipfile
from typing import Any, BinaryIO, Optional, Union

import torch

from ._patching import patch, replace_attr

__all__ = [
    'CheckpointLoadError', 'CheckpointNotFoundError', 'UnsafeCheckpointError',
    'safe_load'
]

# first bytes of the two formats torch.save writes
_ZIP_MAGIC = (b'PK\x03\x04', b'PK\x05\x06')
# legacy (torch < 1.6): pickle protocol 2, then LONG1 0x1950a86a20f9469cfc6c
_LEGACY_MAGIC = b'\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19'
_EXPECTED = 'expected a checkpoint written by torch.save (.pth)'


class CheckpointLoadError(ValueError):
    """A checkpoint that cannot be loaded; the message is one line that
    names the file and says why."""


class CheckpointNotFoundError(CheckpointLoadError, FileNotFoundError):
    """A checkpoint path that does not exist."""


class UnsafeCheckpointError(CheckpointLoadError, pickle.UnpicklingError):
    """A checkpoint that asks to run code (or build objects outside the
    allow-list) while it is loaded; nothing of it was run."""


@functools.lru_cache(maxsize=None)
def _register_allow_list() -> None:
    """Register the allow-list for weights-only loading (torch >= 2.4;
    the same set ``compat.torch_load_safe_globals`` registers). Not a
    ``safe_globals`` context: leaving one removes its globals even when
    they were registered before."""
    from .compat import checkpoint_safe_globals
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(checkpoint_safe_globals())


def _file_name(file: Any) -> str:
    if isinstance(file, (str, os.PathLike)):
        return os.fspath(file)
    return str(getattr(file, 'name', None) or '<in-memory checkpoint>')


def _looks_like(head: bytes, path: str) -> str:
    """What a file that is not a torch checkpoint seems to be."""
    onnx_header = head[:1] == b'\x08' and head[2:3] == b'\x12'
    if path.lower().endswith('.onnx') or onnx_header:
        return 'it looks like an ONNX model'
    if len(head) > 9 and head[8:9] == b'{':
        return 'it looks like a safetensors file'
    if head.startswith(b'\x89HDF'):
        return 'it is an HDF5 file'
    if head[:1] == b'\x80':
        return ('it is a plain Python pickle, which can run code when '
                'loaded; it was not loaded')
    text = head.decode('utf-8', errors='ignore')
    if len(text.encode()) >= len(head) - 3 and all(
            c.isprintable() or c in '\r\n\t' for c in text):
        return f'it is a text file (starts with {text[:40]!r})'
    return f'it starts with bytes {head[:8].hex(" ")}'


def _is_mindspore(head: bytes) -> bool:
    """Whether ``head`` starts a MindSpore ``.ckpt``: a ``Checkpoint``
    proto whose first ``value`` (field 1) starts with its ``tag`` (field
    1), a parameter name."""
    pos, size = 0, 0
    for _ in range(2):  # the value's tag and length, then the name's
        if head[pos:pos + 1] != b'\x0a':
            return False
        pos, size, shift = pos + 1, 0, 0
        while pos < len(head) and shift < 35:
            size |= (head[pos] & 0x7F) << shift
            pos, shift = pos + 1, shift + 7
            if not head[pos - 1] & 0x80:
                break
    name = head[pos:pos + min(size, 8)]
    return len(name) == min(size, 8) > 0 and re.fullmatch(rb'[\w.]+',
                                                          name) is not None


def _check_file(path: str) -> str:
    """Check that ``path`` is a file torch.save could have written; return
    ``'zip'`` or ``'legacy'`` or raise :class:`CheckpointLoadError`."""
    if not osp.exists(path):
        raise CheckpointNotFoundError(f'checkpoint not found: {path}')
    if osp.isdir(path):
        raise CheckpointLoadError(
            f'checkpoint {path} is a directory; {_EXPECTED}')
    try:
        with open(path, 'rb') as f:
            head = f.read(64)
    except OSError as e:
        raise CheckpointLoadError(
            f'cannot read checkpoint {path}: {e.strerror or e}') from None
    if not head:
        raise CheckpointLoadError(
            f'checkpoint {path} is empty (0 bytes); {_EXPECTED}')
    if head.startswith(_ZIP_MAGIC):
        if not zipfile.is_zipfile(path):
            raise CheckpointLoadError(
                f'checkpoint {path} is truncated or corrupt: an incomplete '
                f'zip archive ({osp.getsize(path)} bytes); download or copy '
                'it again')
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
        if any(
                n.split('/', 1)[-1].startswith(('code/', 'constants.pkl'))
                for n in names):
            raise CheckpointLoadError(
                f'{path} is a TorchScript archive (torch.jit.save), not a '
                f'checkpoint; {_EXPECTED}')
        if not any(n.endswith('data.pkl') for n in names):
            raise CheckpointLoadError(
                f'{path} is a zip archive without data.pkl, not a '
                f'checkpoint; {_EXPECTED}')
        return 'zip'
    if head.startswith(_LEGACY_MAGIC):
        return 'legacy'
    if _is_mindspore(head):
        from .reference_checkpoints import (ReferenceCheckpointError,
                                            converter_hint)
        raise ReferenceCheckpointError(
            converter_hint(path, 'MindSpore RetinaFace', 'retinaface'))
    raise CheckpointLoadError(
        f'{path} is not a PyTorch checkpoint: {_looks_like(head, path)}; '
        f'{_EXPECTED}')


def _legacy_pickles_complete(path: str) -> bool:
    """Whether the four pickles that start a legacy torch file (magic
    number, protocol, system info, the object) read to their end; their
    opcodes are only parsed, nothing is built."""
    import pickletools
    try:
        with open(path, 'rb') as f:
            for _ in range(4):
                for _op in pickletools.genops(f):
                    pass
    except Exception:
        return False
    return True


def _explain(err: BaseException, name: str,
             kind: Optional[str]) -> CheckpointLoadError:
    """The one-line error for ``err`` raised by ``torch.load``."""
    msg = str(err)
    found = re.search(r'GLOBAL ([\w.]+)', msg)
    if 'refuses getattr' in msg:
        found = re.search(r'getattr\((.*?)\)', msg)
        return UnsafeCheckpointError(
            f'refused checkpoint {name}: it asks to call getattr('
            f'{found.group(1) if found else "..."}) while loading; nothing '
            'of it was run (only mmengine HistoryBuffer statistics may be '
            'fetched that way)')
    truncated = found is not None and kind == 'legacy' and \
        not _legacy_pickles_complete(name)
    if found is not None and not truncated:
        what = found.group(1)
        return UnsafeCheckpointError(
            f'refused checkpoint {name}: it asks to load {what}, which is '
            'neither a tensor, a number nor mmengine training state (a '
            'pickle that can run code); nothing of it was run')
    unreadable = isinstance(err,
                            RuntimeError) and ('PytorchStreamReader' in msg
                                               or 'central directory' in msg)
    if isinstance(err, EOFError) or truncated or unreadable:
        return CheckpointLoadError(
            f'checkpoint {name} is truncated or corrupt (it ends early or '
            'its records do not read back); download or copy it again')
    detail = re.search(r'WeightsUnpickler error: ([^\n]*)', msg)
    detail = detail.group(1) if detail else (msg.strip().splitlines()
                                             or [type(err).__name__])[0]
    return CheckpointLoadError(
        f'cannot load checkpoint {name}: corrupt or not a PyTorch checkpoint '
        f'({type(err).__name__}: {detail[:200]}); {_EXPECTED}')


def safe_load(file: Union[str, os.PathLike, BinaryIO],
              map_location: Any = 'cpu') -> Any:
    """Load a checkpoint as weights only: ``torch.load(weights_only=True)``
    with the project's allow-list (numpy arrays / scalars / dtypes and
    mmengine's ``HistoryBuffer``, see
    :func:`~mmcv_patches.compat.checkpoint_safe_globals`).

    Args:
        file (str | PathLike | file): A path or a binary file object.
        map_location (Any): As ``torch.load``. Defaults to ``'cpu'``.

    Returns:
        Any: The loaded object (usually a dict).

    Raises:
        CheckpointNotFoundError: ``file`` does not exist.
        UnsafeCheckpointError: the file asks to run code or build objects
            outside the allow-list; nothing of it ran.
        CheckpointLoadError: any other file that is not a loadable
            checkpoint (directory, empty, truncated, another format).
    """
    name = _file_name(file)
    kind = None
    if isinstance(file, (str, os.PathLike)):
        kind = _check_file(name)
    elif isinstance(file, (bytes, bytearray)):
        file = io.BytesIO(file)
    _register_allow_list()
    try:
        return torch.load(file, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, KeyError,
            ValueError, AttributeError, TypeError, ImportError, IndexError,
            UnicodeDecodeError) as e:
        raise _explain(e, name, kind) from None


# --------------------------------------------------------------------------
# mmengine's CheckpointLoader through safe_load
# --------------------------------------------------------------------------
class _SafeTorch(types.ModuleType):
    """``torch`` as ``mmengine.runner.checkpoint`` sees it: the same module
    but ``load``, which is :func:`safe_load`."""

    def __init__(self) -> None:
        super().__init__('torch')

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)

    @staticmethod
    def load(f, map_location=None, *args, **kwargs) -> Any:
        return safe_load(f, map_location)


def load_from_local(filename: str, map_location=None) -> Any:
    """mmcv_patches replacement of mmengine's ``load_from_local``: the
    checks and one-line errors of :func:`safe_load`."""
    return safe_load(osp.expanduser(filename), map_location)


def _load_url(url: str,
              model_dir: Optional[str] = None,
              map_location=None,
              progress: bool = True,
              check_hash: bool = False,
              file_name: Optional[str] = None,
              **kwargs) -> Any:
    """mmcv_patches replacement of mmengine's ``load_url``
    (``torch.hub.load_state_dict_from_url``, which unpickles with
    weights-only loading switched off): the same download and cache, then
    :func:`safe_load`."""
    from urllib.parse import urlparse

    from torch.hub import HASH_REGEX, download_url_to_file, get_dir
    if model_dir is None:
        model_dir = osp.join(get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name or osp.basename(urlparse(url).path)
    cached = osp.join(model_dir, filename)
    if not osp.exists(cached):
        found = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(
            url, cached, found.group(1) if found else None, progress=progress)
    return safe_load(cached, map_location)


@patch('checkpoint.safe_load')
def patch_safe_load():
    """Route every load of mmengine's ``CheckpointLoader`` through
    :func:`safe_load`.

    Upstream gap: mmengine 0.10.7 calls ``torch.load`` without
    ``weights_only`` (arbitrary code on torch < 2.6 or with
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``), loads ``http(s)://`` files
    through ``torch.hub`` with weights-only loading off on every torch, and
    a refused file ends in torch's multi-line advice to retry with
    weights-only loading switched off. Here ``torch.load`` of
    ``mmengine.runner.checkpoint`` is :func:`safe_load`, its ``load_url``
    (and ``mmengine.utils.dl_utils.load_url``) downloads and then calls
    :func:`safe_load`, and the local scheme gives its one-line errors.
    """
    import mmengine.runner.checkpoint as ckpt_mod
    import mmengine.utils.dl_utils as dl_utils
    import mmengine.utils.dl_utils.hub as hub
    changed = replace_attr(ckpt_mod, 'torch', _SafeTorch())
    for owner in (ckpt_mod, dl_utils, hub):
        changed |= replace_attr(owner, 'load_url', _load_url)
    loader = ckpt_mod.CheckpointLoader
    if loader._schemes.get('') is not load_from_local:
        setattr(load_from_local, '__mmcv_patches_original__',
                loader._schemes.get(''))
        loader.register_scheme('', load_from_local, force=True)
        changed = True
    return changed or 'already patched'
