"""Mixed precision: loss scaling, O1/O2 levels, non-finite step skipping.

* :class:`LossScaler` - static or dynamic loss scale, device independent
  (CPU, CUDA, NPU), with a state dict for checkpoints.
* :func:`convert_model_o2` - apex-style O2: the model in half precision,
  BatchNorm kept in fp32, inputs cast to half and outputs back to fp32.
* :class:`MixedPrecisionOptimWrapper` (``OPTIM_WRAPPERS``) - O0 / O1 / O2,
  fp32 master weights for O2, static or dynamic loss scale, skipped steps on
  NaN/inf gradients logged through mmengine's logger and ``MessageHub``,
  gradient clipping after unscaling, and apex ``amp`` when the
  :class:`~mmcv_patches.optimizers.DeviceOptimWrapperConstructor` set it up.
"""
import logging
from contextlib import contextmanager
from typing import Dict, Iterable, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch.nn.modules.batchnorm import _BatchNorm

OPT_LEVELS = ('O0', 'O1', 'O2')
HALF_DTYPES = {'float16': torch.float16, 'bfloat16': torch.bfloat16}


def default_half_dtype(device_type: str) -> torch.dtype:
    """fp16 on accelerators, bf16 on CPU (CPU autocast only does bf16)."""
    return torch.bfloat16 if device_type == 'cpu' else torch.float16


def cpu_bf16_is_native() -> bool:
    """Whether this CPU runs bfloat16 natively (AVX512-BF16 or AMX); where
    it does not, oneDNN emulates bf16 convolutions, many times slower than
    float32 (26x for a 3x3 conv on an AVX2 EPYC)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # torch without oneDNN
        return False


def warn_if_cpu_bf16_is_emulated() -> bool:
    """Log a warning when :func:`cpu_bf16_is_native` is False.

    Returns:
        bool: True when bf16 is emulated (the warning was logged).
    """
    if cpu_bf16_is_native():
        return False
    print_log(
        'bfloat16 autocast on a CPU without native bf16 (AVX512-BF16 / '
        'AMX): oneDNN emulates it and training runs many times slower '
        'than float32; drop --amp / the AMP optim wrapper on this '
        'machine unless you are testing AMP itself',
        logger='current',
        level=logging.WARNING)
    return True


def _to_dtype(dtype: Union[None, str, torch.dtype]) -> Optional[torch.dtype]:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in HALF_DTYPES:
        raise ValueError(f'dtype must be one of {list(HALF_DTYPES)}, '
                         f'got {dtype!r}')
    return HALF_DTYPES[dtype]


class LossScaler:
    """Static or dynamic loss scale.

    Args:
        init_scale (float): initial scale. Defaults to 2**16.
        dynamic (bool): grow / back off the scale. Defaults to True.
        growth_factor (float): multiply after ``growth_interval`` good
            steps. Defaults to 2.
        backoff_factor (float): multiply after an overflow. Defaults to 0.5.
        growth_interval (int): good steps before growing. Defaults to 2000.
        min_scale (float): lower bound of a dynamic scale. Defaults to 1.
        max_scale (float): upper bound of a dynamic scale. Defaults to 2**24.
    """

    def __init__(self,
                 init_scale: float = 2.**16,
                 dynamic: bool = True,
                 growth_factor: float = 2.,
                 backoff_factor: float = .5,
                 growth_interval: int = 2000,
                 min_scale: float = 1.,
                 max_scale: float = 2.**24):
        assert init_scale > 0 and growth_factor > 1 and 0 < backoff_factor < 1
        self.scale = float(init_scale)
        self.dynamic = dynamic
        self.growth_factor = growth_factor
        self.backoff_factor = backoff_factor
        self.growth_interval = int(growth_interval)
        self.min_scale = min_scale
        self.max_scale = max_scale
        self.growth_tracker = 0

    @classmethod
    def from_cfg(cls, loss_scale: Union[str, float, dict]) -> 'LossScaler':
        """``'dynamic'``, a number (static scale) or a dict of arguments."""
        if loss_scale == 'dynamic':
            return cls()
        if isinstance(loss_scale,
                      (int, float)) and not isinstance(loss_scale, bool):
            return cls(init_scale=float(loss_scale), dynamic=False)
        if isinstance(loss_scale, dict):
            return cls(**loss_scale)
        raise TypeError('loss_scale must be "dynamic", a number or a dict, '
                        f'got {loss_scale!r}')

    def unscale_(self, params: Iterable[torch.Tensor]) -> bool:
        """Divide the grads of ``params`` by the scale in place.

        Args:
            params (Iterable[Tensor]): parameters whose ``.grad`` to unscale.

        Returns:
            bool: True if any gradient holds NaN or inf.
        """
        groups: Dict[tuple, List[torch.Tensor]] = {}
        for p in params:
            if p.grad is not None:
                groups.setdefault((p.grad.device, p.grad.dtype),
                                  []).append(p.grad)
        found_inf = False
        for (device, _), grads in groups.items():
            found = torch.zeros(1, device=device, dtype=torch.float32)
            inv = torch.full((1, ),
                             1. / self.scale,
                             device=device,
                             dtype=torch.float32)
            try:
                torch._amp_foreach_non_finite_check_and_unscale_(
                    grads, found, inv)
            except (RuntimeError, NotImplementedError, AttributeError):
                for g in grads:
                    if self.scale != 1.:
                        g.mul_(inv.to(g.dtype))
                    found += (~torch.isfinite(g)).any().float()
            found_inf = found_inf or bool(found.item() > 0)
        return found_inf

    def update(self, found_inf: bool) -> None:
        """Back off after an overflow, grow after enough good steps."""
        if not self.dynamic:
            return
        if found_inf:
            self.scale = max(self.scale * self.backoff_factor, self.min_scale)
            self.growth_tracker = 0
        else:
            self.growth_tracker += 1
            if self.growth_tracker >= self.growth_interval:
                self.scale = min(self.scale * self.growth_factor,
                                 self.max_scale)
                self.growth_tracker = 0

    def state_dict(self) -> dict:
        """Scale and growth tracker (dict of float/int/bool)."""
        return dict(
            scale=self.scale,
            growth_tracker=self.growth_tracker,
            dynamic=self.dynamic)

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output."""
        self.scale = float(state['scale'])
        self.growth_tracker = int(state.get('growth_tracker', 0))


def _cast_floats(obj, dtype: torch.dtype, elements: bool = True):
    """Cast floating tensors nested in dict/list/tuple (and, with
    ``elements``, in mmengine data elements, in place)."""
    from mmengine.structures import BaseDataElement
    if isinstance(obj, torch.Tensor):
        return obj.to(dtype) if obj.is_floating_point() and \
            obj.dtype != dtype else obj
    if isinstance(obj, BaseDataElement):
        if not elements:
            return obj
        for key, value in obj.items():
            casted = _cast_floats(value, dtype)
            if casted is not value:
                obj.set_field(
                    casted,
                    key,
                    field_type='metainfo'
                    if key in obj.metainfo_keys() else 'data')
        return obj
    if isinstance(obj, dict):
        return type(obj)(
            (k, _cast_floats(v, dtype, elements)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(_cast_floats(v, dtype, elements) for v in obj)
    return obj


def _bn_pre_hook(module, args):
    return tuple(_cast_floats(a, torch.float32, False) for a in args)


def _bn_post_hook(module, args, output):
    dtype = getattr(module, '_mmcv_patches_io_dtype', None)
    return output if dtype is None else _cast_floats(output, dtype, False)


def _model_pre_hook(module, args, kwargs):
    dtype = module._mmcv_patches_o2_dtype
    # Ground truth in data samples stays fp32; only input tensors are cast.
    return _cast_floats(args, dtype, False), _cast_floats(kwargs, dtype, False)


def _model_post_hook(module, args, kwargs, output):
    return _cast_floats(output, torch.float32)


def convert_model_o2(model: nn.Module,
                     dtype: torch.dtype,
                     keep_batchnorm_fp32: bool = True) -> nn.Module:
    """Apex-style O2 cast of ``model`` in place.

    Parameters and floating buffers go to ``dtype`` except normalisation
    layers (BatchNorm/SyncBN, GroupNorm, LayerNorm: kept fp32 with their
    inputs cast to fp32 and outputs back to ``dtype``)
    and a ``data_preprocessor`` attribute (normalisation stays fp32). The
    model's floating inputs are cast to ``dtype``; its floating outputs
    (losses, predictions in data samples) back to fp32, and so are the
    outputs of mmdet heads (submodules with ``predict_by_feat`` and
    ``loss_by_feat``), so box decoding, NMS and losses run in fp32.
    Other ops must support ``dtype`` on the device, as with apex O2.
    Idempotent.

    Args:
        model (nn.Module): the unwrapped model.
        dtype (torch.dtype): ``torch.float16`` or ``torch.bfloat16``.
        keep_batchnorm_fp32 (bool): keep normalisation layers in fp32.
            Defaults to True.

    Returns:
        nn.Module: ``model``.
    """
    if getattr(model, '_mmcv_patches_o2_dtype', None) is not None:
        return model
    skip = set()
    pre = getattr(model, 'data_preprocessor', None)
    if isinstance(pre, nn.Module):
        skip.update(id(m) for m in pre.modules())
    for m in model.modules():
        if id(m) in skip:
            continue
        if keep_batchnorm_fp32 and isinstance(
                m, (_BatchNorm, nn.GroupNorm, nn.LayerNorm)):
            m._mmcv_patches_io_dtype = dtype
            m.register_forward_pre_hook(_bn_pre_hook)
            m.register_forward_hook(_bn_post_hook)
            continue
        for name, p in m.named_parameters(recurse=False):
            if p.is_floating_point():
                p.data = p.data.to(dtype)
        for name, b in m.named_buffers(recurse=False):
            if b is not None and b.is_floating_point():
                setattr(m, name, b.to(dtype))
    # Post-processing of dense heads (box decoding, NMS) runs in fp32: mmcv's
    # CPU ops (nms, ...) take no half inputs and fp32 losses are steadier.
    for m in model.modules():
        if id(m) not in skip and m is not model and \
                hasattr(m, 'predict_by_feat') and hasattr(m, 'loss_by_feat'):
            m.register_forward_hook(_model_post_hook, with_kwargs=True)
    model._mmcv_patches_o2_dtype = dtype
    model.register_forward_pre_hook(_model_pre_hook, with_kwargs=True)
    model.register_forward_hook(_model_post_hook, with_kwargs=True)
    return model


def _param_device_type(optimizer: torch.optim.Optimizer) -> str:
    for group in optimizer.param_groups:
        for p in group['params']:
            return p.device.type
    return 'cpu'


@OPTIM_WRAPPERS.register_module()
class MixedPrecisionOptimWrapper(OptimWrapper):
    """Optimizer wrapper for mixed precision with apex-style levels.

    Args:
        optimizer (torch.optim.Optimizer): built optimizer.
        opt_level (str): ``'O0'`` fp32 (loss scaling and non-finite skipping
            only), ``'O1'`` autocast to ``dtype`` inside ``optim_context``,
            ``'O2'`` model in ``dtype`` with fp32 BatchNorm and fp32 master
            weights (needs :class:`DeviceOptimWrapperConstructor`, which
            the patched ``Runner.build_optim_wrapper`` selects). Defaults
            to ``'O1'``.
        loss_scale (str | float | dict): ``'dynamic'``, a static scale, or
            :class:`LossScaler` arguments. Defaults to ``'dynamic'``.
        dtype (str | torch.dtype, optional): half type; default fp16 on
            CUDA/NPU, bf16 on CPU.
        backend (str): ``'auto'`` (apex when the constructor set it up),
            ``'torch'`` or ``'apex'``. Defaults to ``'auto'``.
        skip_nonfinite (bool): skip the step when a gradient is NaN/inf.
            Defaults to True.
        keep_batchnorm_fp32 (bool): O2 only. Defaults to True.
        combine_grad (bool, optional): passed to NPU apex
            ``amp.initialize``; default True on NPU.
        **kwargs: ``accumulative_counts``, ``clip_grad`` of
            :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self,
                 optimizer: torch.optim.Optimizer,
                 opt_level: str = 'O1',
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[None, str, torch.dtype] = None,
                 backend: str = 'auto',
                 skip_nonfinite: bool = True,
                 keep_batchnorm_fp32: bool = True,
                 combine_grad: Optional[bool] = None,
                 **kwargs):
        if opt_level not in OPT_LEVELS:
            raise ValueError(f'opt_level must be one of {OPT_LEVELS}, got '
                             f'{opt_level!r}')
        if backend not in ('auto', 'torch', 'apex'):
            raise ValueError(f'backend must be auto/torch/apex, got '
                             f'{backend!r}')
        super().__init__(optimizer=optimizer, **kwargs)
        self.opt_level = opt_level
        self.device_type = _param_device_type(optimizer)
        self.cast_dtype = _to_dtype(dtype) or default_half_dtype(
            self.device_type)
        if self.device_type == 'cpu' and self.cast_dtype == torch.float16 \
                and opt_level == 'O1':
            raise ValueError('CPU autocast supports bfloat16 only')
        if self.device_type == 'cpu' and opt_level != 'O0':
            warn_if_cpu_bf16_is_emulated()
        self.backend = backend
        self.skip_nonfinite = skip_nonfinite
        self.keep_batchnorm_fp32 = keep_batchnorm_fp32
        self.combine_grad = combine_grad
        self.loss_scale_cfg = loss_scale
        self.loss_scaler = LossScaler.from_cfg(loss_scale)
        self.skipped_steps = 0
        # apex ``amp`` module once DeviceOptimWrapperConstructor set it up.
        self.apex_amp = None
        # O2 bookkeeping: (model param, fp32 master) pairs.
        self._master_pairs: List[tuple] = []
        self._masters_restored = False
        if opt_level == 'O2' and backend != 'apex':
            self._setup_master_params()

    # ------------------------------------------------------------------ O2
    def _setup_master_params(self) -> None:
        """Put fp32 master copies of half parameters into the optimizer."""
        pairs = []
        for group in self.optimizer.param_groups:
            masters = []
            for p in group['params']:
                if p.is_floating_point() and p.dtype != torch.float32:
                    m = nn.Parameter(
                        p.detach().clone().float(),
                        requires_grad=p.requires_grad)
                    pairs.append((p, m))
                    masters.append(m)
                else:
                    masters.append(p)
            group['params'] = masters
        self._master_pairs = pairs
        # Optimizer state (if any) is keyed by param; it is empty here.

    def sync_master_params(self) -> None:
        """Copy the (half) model parameters into the fp32 masters."""
        with torch.no_grad():
            for p, m in self._master_pairs:
                m.copy_(p.float())

    @property
    def model_params_are_half(self) -> bool:
        """True when O2 master weights are in use."""
        return bool(self._master_pairs)

    def initialize_count_status(self, model: nn.Module, init_counts: int,
                                max_counts: int) -> None:
        """Also refresh O2 masters from the model after init/load/resume."""
        super().initialize_count_status(model, init_counts, max_counts)
        if self._master_pairs and not self._masters_restored:
            self.sync_master_params()

    # ---------------------------------------------------------- training
    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context plus autocast for O1."""
        if self.opt_level == 'O2' and self.apex_amp is None and \
                not self._master_pairs:
            raise RuntimeError(
                'MixedPrecisionOptimWrapper(opt_level="O2") found an fp32 '
                'model: build it with constructor='
                '"DeviceOptimWrapperConstructor" (import mmcv_patches so the '
                'runner selects it) so the model is cast before the '
                'optimizer is built')
        with super().optim_context(model):
            if self.opt_level == 'O1' and self.apex_amp is None:
                with torch.autocast(
                        device_type=self.device_type, dtype=self.cast_dtype):
                    yield
            else:
                yield

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Backward of the scaled loss.

        Args:
            loss (Tensor): loss of this iteration.
            **kwargs: passed to ``Tensor.backward``.
        """
        if self.apex_amp is not None:
            with self.apex_amp.scale_loss(loss, self.optimizer) as scaled_loss:
                scaled_loss.backward(**kwargs)
        else:
            (loss.float() * self.loss_scaler.scale).backward(**kwargs)
        self._inner_count += 1

    def _apex_overflow(self) -> bool:
        state = getattr(self.apex_amp, '_amp_state', None)
        scalers = getattr(state, 'loss_scalers', None) or []
        return any(bool(getattr(s, '_has_overflow', False)) for s in scalers)

    def _apex_scale(self) -> Optional[float]:
        state = getattr(self.apex_amp, '_amp_state', None)
        scalers = getattr(state, 'loss_scalers', None) or []
        return float(scalers[0].loss_scale()) if scalers else None

    def _log_skip(self, old_scale: Optional[float],
                  new_scale: Optional[float]) -> None:
        self.skipped_steps += 1
        it = self.message_hub.get_info('iter')
        where = f'iter {it + 1}' if isinstance(it, int) else 'this step'
        print_log(
            f'mixed precision: NaN/inf gradients at {where}, optimizer step '
            f'skipped (skipped {self.skipped_steps} so far); loss scale '
            f'{old_scale} -> {new_scale}',
            logger='current',
            level=logging.WARNING)
        self.message_hub.update_scalar('train/skipped_steps',
                                       self.skipped_steps)

    def step(self, **kwargs) -> None:
        """Unscale, check for NaN/inf, clip, step (or skip) and update scale.

        Args:
            **kwargs: passed to ``Optimizer.step``.
        """
        if self.apex_amp is not None:
            # apex unscaled inside scale_loss and patched optimizer.step to
            # skip on overflow; clip the master grads and report the skip.
            overflow = self._apex_overflow()
            if not overflow and self.clip_grad_kwargs:
                self._clip_grad()
            self.optimizer.step(**kwargs)
            if overflow:
                self._log_skip(None, self._apex_scale())
            scale = self._apex_scale()
            if scale is not None:
                self.message_hub.update_scalar('train/loss_scale', scale)
            return
        if self._master_pairs:
            for p, m in self._master_pairs:
                if p.grad is None:
                    m.grad = None
                else:
                    m.grad = p.grad.detach().float()
        params = [p for g in self.optimizer.param_groups for p in g['params']]
        found_inf = self.loss_scaler.unscale_(params)
        old_scale = self.loss_scaler.scale
        if found_inf and self.skip_nonfinite:
            self.loss_scaler.update(True)
            self._log_skip(old_scale, self.loss_scaler.scale)
        else:
            if self.clip_grad_kwargs:
                self._clip_grad()
            self.optimizer.step(**kwargs)
            if self._master_pairs:
                with torch.no_grad():
                    for p, m in self._master_pairs:
                        p.copy_(m)
            self.loss_scaler.update(found_inf)
        self.message_hub.update_scalar('train/loss_scale',
                                       self.loss_scaler.scale)

    def zero_grad(self, **kwargs) -> None:
        """Zero the optimizer's grads and, for O2, the model's half grads."""
        self.optimizer.zero_grad(**kwargs)
        for p, _ in self._master_pairs:
            p.grad = None

    # ------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """Optimizer state plus ``loss_scaler`` (and O2 fp32 masters)."""
        state = super().state_dict()
        if self.apex_amp is not None:
            state['apex_amp'] = self.apex_amp.state_dict()
        else:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        state['skipped_steps'] = self.skipped_steps
        if self._master_pairs:
            state['fp32_master_params'] = [
                m.detach().clone() for _, m in self._master_pairs
            ]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Inverse of :meth:`state_dict`; plain optimizer states load too."""
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        apex_state = state_dict.pop('apex_amp', None)
        self.skipped_steps = int(state_dict.pop('skipped_steps', 0))
        masters = state_dict.pop('fp32_master_params', None)
        if scaler_state is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        if apex_state is not None and self.apex_amp is not None:
            self.apex_amp.load_state_dict(apex_state)
        if masters is not None and len(masters) == len(self._master_pairs):
            with torch.no_grad():
                for (p, m), saved in zip(self._master_pairs, masters):
                    m.copy_(saved)
                    p.copy_(saved)
            self._masters_restored = True
        super().load_state_dict(state_dict)

    def __repr__(self) -> str:
        return (f'{super().__repr__()}\nopt_level: {self.opt_level}, dtype: '
                f'{self.cast_dtype}, loss_scale: {self.loss_scale_cfg}, '
                f'backend: {"apex" if self.apex_amp is not None else "torch"}')
