"""Device-agnostic mmcv ops: pure-torch kernels where mmcv has none.

mmcv's compiled ops dispatch on the tensor's device and fail with
``nms_impl: implementation for device cuda:0 not found`` where the build
has no kernel for it (a CPU-ops-only mmcv on a GPU machine, an NPU without
mmcv's NPU ops); mmcv-lite has no compiled ops at all, so ``mmcv.ops`` and
``mmdet.models`` do not even import. Two patches close this for the ops the
project's configs reach (:data:`mmcv_patches.torch_ops.TORCH_OPS`: ``nms``,
reached by every ``batched_nms``, and the sigmoid focal loss of RetinaNet):

* ``ops.torch_fallback``: the ``ext_module`` of ``mmcv.ops.nms`` and
  ``mmcv.ops.focal_loss`` becomes a :class:`TorchOpsExt` that calls mmcv's
  kernel and, the first time it reports no implementation for a device,
  logs it once and uses the pure-torch op for that device from then on.
  No-op in effect where mmcv has the kernel (one dictionary look-up per
  call).
* ``ops.mmcv_lite_ext``: without ``mmcv._ext`` (mmcv-lite) a
  :class:`TorchOpsExt` module stands in for it before ``mmcv.ops`` is
  imported: ``mmcv.ops`` and ``mmdet.models`` import, the ops above run in
  torch, every other compiled op raises an error naming it. Applied when
  this module is imported; import ``mmcv_patches`` (or ``mmdet_faces``)
  before ``mmdet.models``.

``MMCV_PATCHES_TORCH_OPS=all`` (or a comma-separated list of op names,
e.g. ``nms``) forces the pure-torch ops even where mmcv has a kernel: to
compare them with mmcv's CPU kernels, or to run a config the way it runs on
a device without kernels. :func:`fallback_calls` counts the calls that used
the pure-torch ops.
"""
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types
import warnings
from collections import Counter
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from ._patching import apply_now, patch
from .torch_ops import TORCH_OPS

__all__ = [
    'TorchOpsExt', 'FORCE_ENV', 'forced_ops', 'fallback_calls',
    'kernel_status', 'MissingOpError'
]

#: environment variable forcing the pure-torch ops (``all`` or op names)
FORCE_ENV = 'MMCV_PATCHES_TORCH_OPS'
#: mmcv.ops modules whose ``ext_module`` gets the fallback
PATCHED_MODULES = ('mmcv.ops.nms', 'mmcv.ops.focal_loss')

# (ext function, device type) -> False once mmcv said it has no kernel
_KERNEL: Dict[Tuple[str, str], bool] = {}
_CALLS: Counter = Counter()


class MissingOpError(RuntimeError):
    """A compiled mmcv op that neither mmcv nor mmcv_patches provides."""


def forced_ops() -> frozenset:
    """Op names (frozenset[str]) forced to pure torch by
    ``MMCV_PATCHES_TORCH_OPS`` (``'all'`` -> every op)."""
    raw = os.environ.get(FORCE_ENV, '').strip()
    if not raw:
        return frozenset()
    names = {n.strip() for n in raw.split(',') if n.strip()}
    if 'all' in names or '1' in names:
        return frozenset(op for op, _ in TORCH_OPS.values())
    return frozenset(names)


def fallback_calls() -> Dict[str, int]:
    """Calls (dict[str, int]) of each pure-torch op so far in this process,
    keyed ``'<ext function>@<device type>'``."""
    return dict(_CALLS)


def kernel_status() -> Dict[str, bool]:
    """``'<ext function>@<device type>'`` -> False for every mmcv kernel
    found missing so far (dict[str, bool])."""
    return {f'{k[0]}@{k[1]}': v for k, v in _KERNEL.items()}


def _device_type(args: tuple, kwargs: dict) -> str:
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, torch.Tensor):
            return a.device.type
    return 'cpu'


def _no_kernel(err: RuntimeError) -> bool:
    msg = str(err)
    return 'implementation for device' in msg and 'not found' in msg


def _dispatcher(name: str, real: Optional[Callable],
                impl: Callable) -> Callable:
    op = TORCH_OPS[name][0]

    def call(*args, **kwargs):
        device = _device_type(args, kwargs)
        key = (name, device)
        if real is not None and _KERNEL.get(key, True) and \
                op not in forced_ops():
            try:
                return real(*args, **kwargs)
            except RuntimeError as e:
                if not _no_kernel(e):
                    raise
                _KERNEL[key] = False
                warnings.warn(
                    f'mmcv_patches: mmcv has no {name} kernel for {device} '
                    f'tensors; using the pure-torch {op} there')
        _CALLS[f'{name}@{device}'] += 1
        return impl(*args, **kwargs)

    call.__name__ = name
    call.__qualname__ = f'TorchOpsExt.{name}'
    return call


def _missing(name: str) -> Callable:

    def missing(*args, **kwargs):
        raise MissingOpError(
            f'mmcv._ext.{name}: this mmcv has no compiled ops (mmcv-lite) '
            'and mmcv_patches has no pure-torch version of it (it has: '
            f'{", ".join(sorted(TORCH_OPS))}); install mmcv with its ops '
            '(MMCV_WITH_OPS=1) for configs that use it')

    missing.__name__ = name
    return missing


class TorchOpsExt(types.ModuleType):
    """``mmcv._ext`` with pure-torch fallbacks.

    Attributes named in :data:`~mmcv_patches.torch_ops.TORCH_OPS` call
    mmcv's kernel (``real``) and fall back to torch where it has none for
    the device (or when forced); other attributes are ``real``'s, or, with
    ``real=None`` (mmcv-lite), functions raising :class:`MissingOpError`.

    Args:
        real (module, optional): The compiled ``mmcv._ext``.
    """

    def __init__(self, real: Optional[Any] = None) -> None:
        super().__init__('mmcv._ext', 'mmcv._ext with mmcv_patches fallbacks')
        self._real = real
        self._calls: Dict[str, Callable] = {}
        # a spec, so importlib.util.find_spec('mmcv._ext') works on it
        self.__spec__ = importlib.machinery.ModuleSpec('mmcv._ext', None)

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__') or name in ('_real', '_calls'):
            raise AttributeError(name)
        if name in self._calls:
            return self._calls[name]
        real = getattr(self._real, name, None) if self._real is not None \
            else None
        if name in TORCH_OPS:
            fn = _dispatcher(name, real, TORCH_OPS[name][1])
        elif real is not None:
            return real
        else:
            fn = _missing(name)
        self._calls[name] = fn
        return fn


def _has_compiled_ext() -> bool:
    if isinstance(sys.modules.get('mmcv._ext'), TorchOpsExt):
        return False
    try:
        return importlib.util.find_spec('mmcv._ext') is not None
    except (ImportError, ValueError):
        return False


@patch('ops.mmcv_lite_ext')
def patch_mmcv_lite_ext():
    """Stand in for ``mmcv._ext`` when mmcv has no compiled ops.

    Upstream gap: mmcv-lite has no ``mmcv._ext``, so ``import mmcv.ops``
    (and with it ``mmdet.models``) fails. A :class:`TorchOpsExt` module
    without a compiled twin is put in ``sys.modules['mmcv._ext']``. No-op
    when mmcv has its compiled ops, or when mmcv is not installed.
    """
    if importlib.util.find_spec('mmcv') is None:
        return 'mmcv is not installed'
    if _has_compiled_ext():
        return 'mmcv has its compiled ops (mmcv._ext)'
    if 'mmcv.ops' in sys.modules:
        return 'mmcv.ops was imported before mmcv_patches'
    sys.modules['mmcv._ext'] = TorchOpsExt(None)
    return True


# before the other patch modules, which may import mmdet / mmcv.ops
apply_now('ops.mmcv_lite_ext')


@patch('ops.torch_fallback')
def patch_torch_fallback():
    """Pure-torch ops for devices without an mmcv kernel.

    Upstream gap: mmcv's compiled ``nms`` and sigmoid focal loss have no
    kernel for a device the build did not target (``implementation for
    device cuda:0 not found``). The ``ext_module`` of
    :data:`PATCHED_MODULES` becomes a :class:`TorchOpsExt` around the
    compiled one. With mmcv-lite the stand-in of ``ops.mmcv_lite_ext`` is
    already there. No-op where ``mmcv.ops`` cannot be imported.
    """
    try:
        importlib.import_module('mmcv.ops')
    except ImportError as e:
        return f'mmcv.ops does not import ({e})'
    changed = False
    for name in PATCHED_MODULES:
        mod = importlib.import_module(name)
        ext = mod.ext_module
        if isinstance(ext, TorchOpsExt):
            continue
        mod.ext_module = TorchOpsExt(ext)
        changed = True
    return changed or 'already in place (mmcv-lite stand-in)'
