"""Optimizers: apex / torch_npu fused optimizers, a device-aware constructor.

* ``optimizers.apex`` patch: registers the optimizers of ``apex.optimizers``
  (NVIDIA ``FusedSGD``, ``FusedAdam``, ...; Ascend apex ``NpuFusedSGD``,
  ``NpuFusedAdamW``, ...) in mmengine's ``OPTIMIZERS`` when apex is
  importable.
* ``optimizers.torch_npu`` patch: registers ``torch_npu.optim`` optimizers
  that are not registered yet.
* :class:`DeviceOptimWrapperConstructor` (``OPTIM_WRAPPER_CONSTRUCTORS``):
  picks the fused implementation of the configured optimizer for the
  model's device, prepares the model for O2 (or runs apex
  ``amp.initialize``) for
  :class:`~mmcv_patches.amp.MixedPrecisionOptimWrapper`.
"""
import importlib
import importlib.util
import inspect
import logging
from typing import List, Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                               OPTIMIZERS)

from ._patching import patch
from .amp import (MixedPrecisionOptimWrapper, _to_dtype, convert_model_o2,
                  default_half_dtype)


def get_apex():
    """The ``apex`` module if ``apex`` and ``apex.amp`` import, else None."""
    if importlib.util.find_spec('apex') is None:
        return None
    try:
        apex = importlib.import_module('apex')
        importlib.import_module('apex.amp')
    except Exception:  # a broken apex install is treated as absent
        return None
    return apex


def _register_optimizers_from(module, prefix: str = '') -> List[str]:
    names = []
    for name in dir(module):
        cls = getattr(module, name)
        if name.startswith('_') or not inspect.isclass(cls) or \
                not issubclass(cls, torch.optim.Optimizer):
            continue
        if cls in (OPTIMIZERS.module_dict.get(name),
                   OPTIMIZERS.module_dict.get(prefix + name)):
            continue  # registered before
        reg_name = name if name not in OPTIMIZERS.module_dict else \
            prefix + name
        if reg_name in OPTIMIZERS.module_dict:
            continue
        OPTIMIZERS.register_module(name=reg_name, module=cls)
        names.append(reg_name)
    return names


REGISTERED_FUSED = {'apex': [], 'torch_npu': []}


@patch('optimizers.apex')
def register_apex_optimizers():
    """Register ``apex.optimizers`` in ``OPTIMIZERS``.

    Upstream gap: mmengine knows torch, torch_npu, dadaptation, lion, sophia
    and bitsandbytes optimizers but not apex's fused ones (NVIDIA
    ``FusedSGD``/``FusedAdam``..., Ascend ``NpuFusedSGD``/``NpuFusedAdamW``
    ..., which the Ascend ports used). A name already taken (a torch
    optimizer of the same name) gets an ``Apex`` prefix. No-op without apex.
    """
    apex = get_apex()
    if apex is None:
        return 'apex is not installed'
    try:
        optim_mod = importlib.import_module('apex.optimizers')
    except Exception as e:  # pragma: no cover - broken install
        return f'apex.optimizers does not import: {e}'
    REGISTERED_FUSED['apex'] = _register_optimizers_from(optim_mod, 'Apex')
    return True if REGISTERED_FUSED['apex'] else 'nothing new to register'


@patch('optimizers.torch_npu')
def register_torch_npu_optimizers():
    """Register ``torch_npu.optim`` optimizers missing from ``OPTIMIZERS``.

    Upstream gap: mmengine registers them only if an NPU is usable when
    mmengine is imported. No-op when mmengine already did (every name is
    registered) or torch_npu is not installed.
    """
    if importlib.util.find_spec('torch_npu') is None:
        return 'torch_npu is not installed'
    try:
        npu_optim = importlib.import_module('torch_npu.optim')
    except Exception as e:
        return f'torch_npu.optim does not import: {e}'
    REGISTERED_FUSED['torch_npu'] = _register_optimizers_from(npu_optim)
    return True if REGISTERED_FUSED['torch_npu'] else \
        'mmengine already registered them'


def _optimizer_class(type_):
    if isinstance(type_, str):
        with OPTIMIZERS.switch_scope_and_registry(None) as registry:
            return registry.get(type_)
    return type_


def _fused_supported_devices() -> List[str]:
    try:
        from torch.optim.optimizer import _get_fused_kernels_supported_devices
        return list(_get_fused_kernels_supported_devices())
    except ImportError:  # pragma: no cover - old torch
        return ['cuda']


def resolve_fused_optimizer(optimizer_cfg: dict,
                            device_type: str,
                            apex=None,
                            fused='auto') -> dict:
    """Pick a fused implementation of ``optimizer_cfg`` for a device.

    Args:
        optimizer_cfg (dict): mmengine optimizer config (``type`` + args).
        device_type (str): ``cuda``, ``npu``, ``cpu``, ...
        apex (module, optional): apex, if it should be used.
        fused (str | bool): ``'auto'``/True: apex's ``NpuFused<Type>`` on NPU
            or ``Fused<Type>`` on CUDA when apex is given, else torch's
            ``fused=True`` where torch has fused kernels for the device,
            else ``foreach=True`` on accelerators. False: unchanged.

    Returns:
        dict: a new optimizer config.
    """
    cfg = dict(optimizer_cfg)
    if fused is False or fused is None:
        return cfg
    type_ = cfg['type']
    name = type_ if isinstance(type_, str) else type_.__name__
    if apex is not None and device_type in ('cuda', 'npu'):
        apex_optims = getattr(apex, 'optimizers', None)
        cand = ('NpuFused' if device_type == 'npu' else 'Fused') + name
        cls = getattr(apex_optims, cand, None)
        if cls is not None:
            cfg['type'] = cls
            return cfg
    cls = _optimizer_class(type_)
    if cls is None:
        return cfg
    params = inspect.signature(cls).parameters
    if 'fused' in cfg or 'foreach' in cfg:
        return cfg
    if 'fused' in params and device_type in _fused_supported_devices():
        cfg['fused'] = True
    elif 'foreach' in params and device_type != 'cpu':
        cfg['foreach'] = True
    return cfg


def _model_device_type(model: nn.Module) -> str:
    for p in model.parameters():
        return p.device.type
    return 'cpu'


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DeviceOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Device-aware optimizer wrapper constructor.

    Works like ``DefaultOptimWrapperConstructor`` (``paramwise_cfg``
    included) and in addition:

    * ``optim_wrapper.fused`` (str | bool, default ``'auto'``): see
      :func:`resolve_fused_optimizer`.
    * for :class:`MixedPrecisionOptimWrapper`: ``opt_level='O2'`` casts the
      model (:func:`convert_model_o2`) before the optimizer is built, so the
      wrapper can keep fp32 master weights; with ``backend='apex'`` (or
      ``'auto'`` and apex importable on CUDA/NPU) it runs
      ``apex.amp.initialize`` (``combine_grad=True`` on NPU by default).
      The built wrapper's ``requires_rewrap`` then says the model must be
      wrapped for DDP again (the patched ``Runner.build_optim_wrapper`` does
      it).

    Args:
        optim_wrapper_cfg (dict): the ``optim_wrapper`` config.
        paramwise_cfg (dict, optional): as upstream.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.fused = optim_wrapper_cfg.pop('fused', 'auto')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model: nn.Module):
        module = model.module if hasattr(model, 'module') else model
        device_type = _model_device_type(module)
        wrapper_cfg = self.optim_wrapper_cfg
        wrapper_type = wrapper_cfg.get('type', 'OptimWrapper')
        wrapper_cls = OPTIM_WRAPPERS.get(wrapper_type) if isinstance(
            wrapper_type, str) else wrapper_type
        mixed = inspect.isclass(wrapper_cls) and issubclass(
            wrapper_cls, MixedPrecisionOptimWrapper)
        opt_level = wrapper_cfg.get('opt_level', 'O1') if mixed else None
        apex = None
        if mixed:
            backend = wrapper_cfg.get('backend', 'auto')
            if backend in ('auto', 'apex'):
                apex = get_apex() if device_type in ('cuda', 'npu') else None
                if backend == 'apex' and apex is None:
                    raise ImportError(
                        'MixedPrecisionOptimWrapper(backend="apex") needs '
                        'apex with amp and a CUDA or NPU model; got device '
                        f'{device_type!r}, apex '
                        f'{"found" if get_apex() else "not importable"}')
        optimizer_cfg = resolve_fused_optimizer(self.optimizer_cfg,
                                                device_type, apex, self.fused)
        converted = False
        if mixed and apex is None and opt_level == 'O2':
            dtype = _to_dtype(wrapper_cfg.get('dtype')) or \
                default_half_dtype(device_type)
            convert_model_o2(module, dtype,
                             wrapper_cfg.get('keep_batchnorm_fp32', True))
            converted = True
        saved_optimizer_cfg, saved_wrapper_cfg = \
            self.optimizer_cfg, self.optim_wrapper_cfg
        self.optimizer_cfg = optimizer_cfg
        if apex is not None:
            self.optim_wrapper_cfg = dict(wrapper_cfg, backend='apex')
        try:
            optim_wrapper = super().__call__(module)
        finally:
            self.optimizer_cfg = saved_optimizer_cfg
            self.optim_wrapper_cfg = saved_wrapper_cfg
        if apex is not None:
            self._apex_initialize(apex, module, optim_wrapper, device_type)
        optim_wrapper.requires_rewrap = converted or (apex is not None
                                                      and opt_level != 'O1')
        if optimizer_cfg['type'] is not self.optimizer_cfg['type']:
            impl = 'apex fused'
        elif optimizer_cfg.get('fused'):
            impl = 'torch fused'
        elif optimizer_cfg.get('foreach'):
            impl = 'torch foreach'
        else:
            impl = 'default'
        print_log(
            f'{type(self).__name__}: optimizer '
            f'{type(optim_wrapper.optimizer).__name__} ({impl} '
            f'implementation) on {device_type}' +
            (f', {opt_level} mixed precision' if mixed else ''),
            logger='current',
            level=logging.INFO)
        return optim_wrapper

    @staticmethod
    def _apex_initialize(apex, module: nn.Module, optim_wrapper,
                         device_type: str) -> None:
        """``apex.amp.initialize`` the module and optimizer in place."""
        loss_scale = optim_wrapper.loss_scale_cfg
        if not isinstance(loss_scale, (int, float)):
            loss_scale = 'dynamic'
        kwargs = dict(
            opt_level=optim_wrapper.opt_level,
            loss_scale=loss_scale,
            verbosity=0)
        if optim_wrapper.opt_level == 'O2':
            kwargs['keep_batchnorm_fp32'] = optim_wrapper.keep_batchnorm_fp32
        combine_grad = optim_wrapper.combine_grad
        if combine_grad is None:
            combine_grad = device_type == 'npu'
        if combine_grad:
            kwargs['combine_grad'] = True
        new_module, optimizer = apex.amp.initialize(module,
                                                    optim_wrapper.optimizer,
                                                    **kwargs)
        if new_module is not module:
            raise RuntimeError('apex.amp.initialize returned a new module; '
                               'only in-place initialisation is supported')
        optim_wrapper.optimizer = optimizer
        optim_wrapper.apex_amp = apex.amp
