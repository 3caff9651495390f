"""Patches of ``mmengine.runner.Runner`` for devices and mixed precision."""
import os

from ._patching import original, patch, replace_attr

_DDP_TYPES = (None, 'MMDistributedDataParallel')


def _upstream(name: str):
    """The unpatched ``Runner.<name>`` (subclass overrides are bypassed)."""
    from mmengine.runner import Runner
    return original(Runner.__dict__[name])


def _needs_device_aware_ddp() -> bool:
    from mmengine.device import get_device
    return get_device() == 'cpu' or int(
        os.environ.get('DEVICE_ID_OFFSET', '0') or 0) != 0


def _wrap_model(self, model_wrapper_cfg, model):
    """mmcv_patches replacement of ``Runner.wrap_model``.

    Upstream gap (mmengine 0.10.7): in distributed mode it always passes
    ``device_ids=[LOCAL_RANK]`` to ``MMDistributedDataParallel``, which DDP
    rejects for CPU modules (gloo training) and which is the wrong device
    with a ``DEVICE_ID_OFFSET``. Then the default wrapper (no
    ``model_wrapper_cfg``, or type ``MMDistributedDataParallel``) becomes
    :class:`~mmcv_patches.model_wrapper.DeviceDistributedDataParallel` with
    the same options. No-op on accelerators without an offset, outside
    distributed mode and for other wrapper types.
    """
    from mmengine.model import is_model_wrapper
    if self.distributed and not is_model_wrapper(model) and \
            _needs_device_aware_ddp():
        cfg = dict(model_wrapper_cfg or {})
        if cfg.get('type') in _DDP_TYPES:
            if model_wrapper_cfg is None:
                cfg.update(
                    broadcast_buffers=False,
                    find_unused_parameters=self.cfg.get(
                        'find_unused_parameters', False))
            cfg['type'] = 'DeviceDistributedDataParallel'
            model_wrapper_cfg = cfg
    return _upstream('wrap_model')(self, model_wrapper_cfg, model)


def _prepares_model(optim_wrapper_cfg) -> bool:
    from mmengine.registry import OPTIM_WRAPPERS

    from .amp import MixedPrecisionOptimWrapper
    if not isinstance(optim_wrapper_cfg, dict):
        return False
    type_ = optim_wrapper_cfg.get('type')
    cls = OPTIM_WRAPPERS.get(type_) if isinstance(type_, str) else type_
    return isinstance(cls, type) and issubclass(cls,
                                                MixedPrecisionOptimWrapper)


def _build_optim_wrapper(self, optim_wrapper):
    """mmcv_patches replacement of ``Runner.build_optim_wrapper``.

    Gap: mmengine builds the optimizer after the model is wrapped in DDP,
    but O2 (half model, fp32 master weights) and apex ``amp.initialize``
    must see the bare model before DDP, and on Ascend 910 mmengine replaces
    any wrapper type by ``AmpOptimWrapper``. For
    :class:`~mmcv_patches.amp.MixedPrecisionOptimWrapper` configs this builds
    with :class:`~mmcv_patches.optimizers.DeviceOptimWrapperConstructor`
    (unless another constructor is set) on the bare model and, if the model
    was cast, wraps it for DDP again with the same ``model_wrapper_cfg``.
    No-op for every other optimizer wrapper.
    """
    if not _prepares_model(optim_wrapper):
        return _upstream('build_optim_wrapper')(self, optim_wrapper)
    from mmengine.model import is_model_wrapper
    from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
    cfg = dict(optim_wrapper)
    constructor = cfg.pop('constructor', 'DeviceOptimWrapperConstructor')
    paramwise_cfg = cfg.pop('paramwise_cfg', None)
    wrapped = is_model_wrapper(self.model)
    bare = self.model.module if wrapped else self.model
    built = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type=constructor,
            optim_wrapper_cfg=cfg,
            paramwise_cfg=paramwise_cfg))(
                bare)
    if wrapped and getattr(built, 'requires_rewrap', False):
        self.model = None  # drop the old wrapper before wrapping again
        self.model = self.wrap_model(self.cfg.get('model_wrapper_cfg'), bare)
        self.logger.info('model wrapped for DDP again after the mixed '
                         'precision cast')
    return built


@patch('runner.wrap_model')
def patch_wrap_model():
    """Install :func:`_wrap_model` on ``Runner``."""
    from mmengine.runner import Runner
    return replace_attr(Runner, 'wrap_model', _wrap_model) or \
        'already patched'


@patch('runner.build_optim_wrapper')
def patch_build_optim_wrapper():
    """Install :func:`_build_optim_wrapper` on ``Runner``."""
    from mmengine.runner import Runner
    return replace_attr(Runner, 'build_optim_wrapper',
                        _build_optim_wrapper) or 'already patched'
