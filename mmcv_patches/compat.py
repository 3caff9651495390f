"""Compatibility of mmengine 0.10 / mmcv 2.1 / mmdet 3.3 with current torch.

* ``compat.torch_load_safe_globals``: checkpoints written by mmengine load
  with torch >= 2.6's ``weights_only=True`` default.
* ``compat.amp_optim_wrapper_cpu``: mmengine's ``AmpOptimWrapper`` (what
  ``tools/train.py --amp`` selects) works on CPU with bf16 autocast.
"""
from typing import Any

import torch

from ._patching import original, patch, replace_attr


def _torch_version() -> tuple:
    return tuple(
        int(x) for x in torch.__version__.split('+')[0].split('.')[:2])


#: Method names of ``HistoryBuffer`` that its pickles fetch with ``getattr``.
HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def restricted_getattr(obj: Any, name: str) -> Any:
    """``getattr`` for weights-only unpickling, limited to mmengine's use.

    mmengine pickles ``HistoryBuffer._statistics_methods`` (functions of the
    class) as ``getattr(HistoryBuffer, 'min')`` etc.; that is the only
    ``builtins.getattr`` a checkpoint may call. Anything else raises
    ``pickle.UnpicklingError``.

    Args:
        obj (Any): must be ``mmengine.logging.HistoryBuffer``.
        name (str): one of :data:`HISTORY_BUFFER_METHODS`.
    """
    import pickle

    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'weights-only load refuses getattr({obj!r}, {name!r}); '
        'mmcv_patches only allows HistoryBuffer statistics methods')


def checkpoint_safe_globals() -> list:
    """The globals mmengine checkpoints hold, for ``add_safe_globals``.

    Returns:
        list: objects and ``(object, qualified name)`` pairs: numpy arrays,
        scalars and dtypes (under their numpy 1.x and 2.x module paths),
        ``HistoryBuffer`` from the ``MessageHub`` state and the restricted
        ``builtins.getattr`` its pickle uses.
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    items = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        (restricted_getattr, 'builtins.getattr'),
    ]
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        items.append((multiarray._reconstruct, f'{mod}._reconstruct'))
        items.append((multiarray.scalar, f'{mod}.scalar'))
    # numpy >= 1.25 pickles some dtypes as numpy.dtypes.<Name>DType classes.
    dtypes_mod = getattr(np, 'dtypes', None)
    if dtypes_mod is not None:
        for name in dir(dtypes_mod):
            cls = getattr(dtypes_mod, name)
            if name.endswith('DType') and isinstance(cls, type) and \
                    issubclass(cls, np.dtype):
                items.append((cls, f'numpy.dtypes.{name}'))
    return items


@patch('compat.torch_load_safe_globals')
def patch_torch_load_safe_globals():
    """Allow-list what mmengine checkpoints hold for weights-only loading.

    Upstream gap: mmengine 0.10.7 calls ``torch.load`` without
    ``weights_only``; on torch >= 2.6 that means ``weights_only=True`` and
    resuming or testing from mmengine's own checkpoints fails (numpy
    arrays/scalars/dtypes and ``HistoryBuffer`` in ``message_hub``). This
    keeps ``weights_only=True`` and registers exactly those types with
    ``torch.serialization.add_safe_globals`` (``getattr`` only for
    ``HistoryBuffer`` methods); arbitrary pickles are still refused. No-op
    on torch < 2.6, where ``torch.load`` is not weights-only by default.
    """
    if _torch_version() < (2, 6):
        return f'torch {torch.__version__} loads without weights_only'
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    return True


def _amp_init(self,
              loss_scale='dynamic',
              dtype=None,
              use_fsdp=False,
              **kwargs):
    """mmcv_patches replacement of ``AmpOptimWrapper.__init__``.

    Upstream gap: mmengine 0.10.7 asserts CUDA/NPU/MLU/MUSA, so ``--amp``
    fails on CPU, and its ``torch.cuda.amp.GradScaler`` would silently
    disable itself there. On a machine without accelerators this builds the
    wrapper with ``torch.amp.GradScaler('cpu')`` and bf16 autocast
    (``dtype`` defaults to bfloat16, the only dtype CPU autocast supports).
    No-op (upstream ``__init__``) when any accelerator is available.
    """
    from mmengine.device import (is_cuda_available, is_mlu_available,
                                 is_musa_available, is_npu_available)
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    if is_cuda_available() or is_npu_available() or is_mlu_available() or \
            is_musa_available() or use_fsdp:
        return original(AmpOptimWrapper.__dict__['__init__'])(
            self,
            loss_scale=loss_scale,
            dtype=dtype,
            use_fsdp=use_fsdp,
            **kwargs)
    OptimWrapper.__init__(self, **kwargs)
    self._scale_update_param = None
    if loss_scale == 'dynamic':
        self.loss_scaler = torch.amp.GradScaler('cpu')
    elif isinstance(loss_scale, float):
        self._scale_update_param = loss_scale
        self.loss_scaler = torch.amp.GradScaler('cpu', init_scale=loss_scale)
    elif isinstance(loss_scale, dict):
        self.loss_scaler = torch.amp.GradScaler('cpu', **loss_scale)
    else:
        raise TypeError('loss_scale must be of type float, dict, or '
                        f'"dynamic", but got {loss_scale}')
    if isinstance(dtype, str):
        assert dtype in self.valid_dtypes, (
            f'dtype should be any of {self.valid_dtypes}, got {dtype}')
        dtype = getattr(torch, dtype)
    if dtype is None:
        dtype = torch.bfloat16
    if dtype != torch.bfloat16:
        raise ValueError(f'CPU autocast supports bfloat16 only, got {dtype}')
    self.cast_dtype = dtype
    from .amp import warn_if_cpu_bf16_is_emulated
    warn_if_cpu_bf16_is_emulated()


@patch('compat.amp_optim_wrapper_cpu')
def patch_amp_optim_wrapper_cpu():
    """Install :func:`_amp_init` as ``AmpOptimWrapper.__init__``."""
    from mmengine.optim import AmpOptimWrapper
    return replace_attr(AmpOptimWrapper, '__init__', _amp_init) or \
        'already patched'
