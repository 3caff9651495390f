"""The NPU and apex paths, with stand-ins for torch_npu and apex.

Nothing here ran on real Ascend or CUDA hardware: the stand-ins mimic the
APIs mmcv_patches calls (``apex.amp.initialize/scale_loss/state_dict``,
``apex.optimizers.NpuFusedSGD``, ``torch_npu.optim``), computing on CPU.
"""
import importlib.machinery
import importlib.util
import os.path as osp
import sys
import types
from contextlib import contextmanager

import pytest
import torch
from mmcv_patches_toy import ToyModel
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import OPTIMIZERS

import mmcv_patches.optimizers as popt
from mmcv_patches import DeviceOptimWrapperConstructor, resolve_fused_optimizer
from tests.testing import REPO_ROOT

NPU_CONFIG = osp.join(REPO_ROOT, 'configs', 'retinanet',
                      'retinanet_r50_fpn_8xb2-npu-amp-1x_coco.py')


def _module(name, **attrs):
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    mod.__dict__.update(attrs)
    return mod


class _Scaler:
    """apex.amp's LossScaler surface that mmcv_patches reads."""

    def __init__(self, scale):
        self._scale = float(scale)
        self._has_overflow = False

    def loss_scale(self):
        return self._scale


def make_fake_apex():
    """apex stand-in: amp (initialize, scale_loss, ...) and optimizers."""
    calls = {}

    class FusedSGD(torch.optim.SGD):
        pass

    class NpuFusedSGD(torch.optim.SGD):
        pass

    class FusedAdam(torch.optim.Adam):
        pass

    state = types.SimpleNamespace(loss_scalers=[])

    def initialize(model,
                   optimizers,
                   opt_level='O1',
                   loss_scale=None,
                   verbosity=1,
                   keep_batchnorm_fp32=None,
                   combine_grad=None):
        calls['initialize'] = dict(
            opt_level=opt_level,
            loss_scale=loss_scale,
            keep_batchnorm_fp32=keep_batchnorm_fp32,
            combine_grad=combine_grad,
            optimizer=type(optimizers).__name__)
        state.loss_scalers = [
            _Scaler(2.**16 if loss_scale == 'dynamic' else loss_scale)
        ]
        return model, optimizers

    @contextmanager
    def scale_loss(loss, optimizer):
        scaler = state.loss_scalers[0]
        yield loss * scaler._scale
        grads = [
            p.grad for g in optimizer.param_groups for p in g['params']
            if p.grad is not None
        ]
        scaler._has_overflow = any(not torch.isfinite(g).all() for g in grads)
        if scaler._has_overflow:  # apex: skip the next step, halve scale
            scaler._scale /= 2
            real_step = optimizer.step

            def skip_step(*args, **kwargs):
                optimizer.step = real_step

            optimizer.step = skip_step
        else:
            for g in grads:
                g.div_(scaler._scale)

    amp = _module(
        'apex.amp',
        initialize=initialize,
        scale_loss=scale_loss,
        _amp_state=state,
        master_params=lambda opt:
        (p for g in opt.param_groups for p in g['params']),
        state_dict=lambda:
        {'loss_scaler0': dict(loss_scale=state.loss_scalers[0]._scale)},
        load_state_dict=lambda sd: setattr(state.loss_scalers[0], '_scale', sd[
            'loss_scaler0']['loss_scale']))
    optimizers = _module(
        'apex.optimizers',
        FusedSGD=FusedSGD,
        NpuFusedSGD=NpuFusedSGD,
        FusedAdam=FusedAdam)
    apex = _module('apex', amp=amp, optimizers=optimizers)
    apex.__path__ = []
    return apex, calls


@pytest.fixture
def fake_apex(monkeypatch):
    apex, calls = make_fake_apex()
    monkeypatch.setitem(sys.modules, 'apex', apex)
    monkeypatch.setitem(sys.modules, 'apex.amp', apex.amp)
    monkeypatch.setitem(sys.modules, 'apex.optimizers', apex.optimizers)
    before = set(OPTIMIZERS.module_dict)
    yield apex, calls
    for name in set(OPTIMIZERS.module_dict) - before:
        OPTIMIZERS.module_dict.pop(name)


@pytest.fixture
def fake_torch_npu(monkeypatch):

    class NpuFusedAdamW(torch.optim.AdamW):
        pass

    optim = _module('torch_npu.optim', NpuFusedAdamW=NpuFusedAdamW)
    mod = _module('torch_npu', optim=optim)
    mod.__path__ = []
    monkeypatch.setitem(sys.modules, 'torch_npu', mod)
    monkeypatch.setitem(sys.modules, 'torch_npu.optim', optim)
    before = set(OPTIMIZERS.module_dict)
    yield NpuFusedAdamW
    for name in set(OPTIMIZERS.module_dict) - before:
        OPTIMIZERS.module_dict.pop(name)


def test_apex_optimizers_registered(fake_apex):
    apex, _ = fake_apex
    assert popt.get_apex() is apex
    assert popt.register_apex_optimizers() is True
    assert OPTIMIZERS.get('NpuFusedSGD') is apex.optimizers.NpuFusedSGD
    assert OPTIMIZERS.get('FusedAdam') is apex.optimizers.FusedAdam
    assert popt.register_apex_optimizers() == 'nothing new to register'


def test_torch_npu_optimizers_registered(fake_torch_npu):
    assert popt.register_torch_npu_optimizers() is True
    assert OPTIMIZERS.get('NpuFusedAdamW') is fake_torch_npu
    assert popt.register_torch_npu_optimizers() == \
        'mmengine already registered them'


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) for m in ('apex', 'torch_npu')),
    reason='apex or torch_npu is installed here')
def test_no_apex_no_torch_npu_here():
    assert popt.get_apex() is None
    assert popt.register_apex_optimizers() == 'apex is not installed'
    assert popt.register_torch_npu_optimizers() == \
        'torch_npu is not installed'


def test_resolve_fused_optimizer(fake_apex):
    apex, _ = fake_apex
    sgd = dict(type='SGD', lr=0.1)
    assert resolve_fused_optimizer(sgd, 'npu', apex)['type'] is \
        apex.optimizers.NpuFusedSGD
    assert resolve_fused_optimizer(sgd, 'cuda', apex)['type'] is \
        apex.optimizers.FusedSGD
    # apex is only used on accelerators; torch fused/foreach otherwise
    assert resolve_fused_optimizer(sgd, 'cpu', apex) == dict(sgd, fused=True)
    assert resolve_fused_optimizer(sgd, 'cuda') == dict(sgd, fused=True)
    assert resolve_fused_optimizer(sgd, 'npu') == dict(sgd, foreach=True)
    assert resolve_fused_optimizer(sgd, 'cuda', fused=False) == sgd
    user = dict(sgd, foreach=False)
    assert resolve_fused_optimizer(user, 'cuda') == user
    # no apex counterpart (RMSprop): torch's implementation
    assert resolve_fused_optimizer(dict(type='RMSprop', lr=1.), 'npu',
                                   apex)['type'] == 'RMSprop'


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def test_npu_config_with_apex_o1_combine_grad(fake_apex, monkeypatch):
    """The NPU RetinaNet config's optim_wrapper on an
    (emulated) NPU: apex NpuFusedSGD, amp O1 with combine_grad, skipped
    overflow step logged."""
    apex, calls = fake_apex
    monkeypatch.setattr(popt, '_model_device_type', lambda m: 'npu')
    cfg = Config.fromfile(NPU_CONFIG)
    assert cfg.env_cfg.dist_cfg.backend == 'hccl'
    ow_cfg = cfg.optim_wrapper.to_dict()
    ow_cfg.pop('_scope_', None)
    model = ToyModel()
    ow = DeviceOptimWrapperConstructor(ow_cfg)(model)
    assert type(ow.optimizer) is apex.optimizers.NpuFusedSGD
    assert calls['initialize'] == dict(
        opt_level='O1',
        loss_scale='dynamic',
        keep_batchnorm_fp32=None,
        combine_grad=True,
        optimizer='NpuFusedSGD')
    assert ow.apex_amp is apex.amp and not ow.requires_rewrap
    data = dict(x=torch.randn(2, 3, 8, 8), y=torch.randn(2, 1))
    p0 = _params(model)
    model.train_step(data, optim_wrapper=ow)
    p1 = _params(model)
    assert any(not torch.equal(a, b) for a, b in zip(p0, p1))
    handle = model.fc.weight.register_hook(
        lambda g: torch.full_like(g, float('inf')))
    model.train_step(data, optim_wrapper=ow)
    handle.remove()
    assert all(torch.equal(a, b) for a, b in zip(p1, _params(model)))
    assert ow.skipped_steps == 1
    hub = MessageHub.get_current_instance()
    assert hub.get_scalar('train/loss_scale').current() == 2.**15
    model.train_step(data, optim_wrapper=ow)
    assert any(not torch.equal(a, b) for a, b in zip(p1, _params(model)))
    state = ow.state_dict()
    assert state['apex_amp'] == {'loss_scaler0': {'loss_scale': 2.**15}}
    ow.load_state_dict(state)


def test_apex_o2_marks_rewrap_and_keeps_bn_fp32(fake_apex, monkeypatch):
    apex, calls = fake_apex
    monkeypatch.setattr(popt, '_model_device_type', lambda m: 'cuda')
    ow = DeviceOptimWrapperConstructor(
        dict(
            type='MixedPrecisionOptimWrapper',
            opt_level='O2',
            loss_scale=128.,
            optimizer=dict(type='SGD', lr=0.1)))(
                ToyModel())
    assert type(ow.optimizer) is apex.optimizers.FusedSGD
    assert calls['initialize']['opt_level'] == 'O2'
    assert calls['initialize']['loss_scale'] == 128.
    assert calls['initialize']['keep_batchnorm_fp32'] is True
    assert calls['initialize']['combine_grad'] is None  # not on CUDA
    assert ow.requires_rewrap


def test_backend_apex_without_apex_fails_clearly():
    with pytest.raises(ImportError, match='needs apex'):
        DeviceOptimWrapperConstructor(
            dict(
                type='MixedPrecisionOptimWrapper',
                backend='apex',
                optimizer=dict(type='SGD', lr=0.1)))(
                    ToyModel())


def test_npu_without_full_precision_keeps_our_wrapper(monkeypatch):
    """mmengine turns any wrapper into AmpOptimWrapper on Ascend 910A; the
    runner patch keeps MixedPrecisionOptimWrapper (already mixed)."""
    import mmengine.optim.optimizer.builder as builder
    from mmengine.logging import MMLogger
    from mmengine.runner import Runner
    monkeypatch.setattr(builder, 'is_npu_available', lambda: True)
    monkeypatch.setattr(builder, 'is_npu_support_full_precision',
                        lambda: False)
    fake = types.SimpleNamespace(
        model=ToyModel(), cfg=Config(), logger=MMLogger.get_current_instance())
    ow = Runner.build_optim_wrapper(
        fake,
        dict(
            type='MixedPrecisionOptimWrapper',
            opt_level='O1',
            optimizer=dict(type='SGD', lr=0.1)))
    assert type(ow).__name__ == 'MixedPrecisionOptimWrapper'
    # other wrapper types get upstream's behaviour (forced AmpOptimWrapper)
    ow = Runner.build_optim_wrapper(
        fake, dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)))
    assert type(ow).__name__ == 'AmpOptimWrapper'
