"""DeviceDistributedDataParallel and the Runner.wrap_model patch."""
import types

import pytest
import torch
import torch.distributed as dist
from mmcv_patches_toy import ToyModel
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner

import mmcv_patches.model_wrapper as mw
import mmcv_patches.runner as prunner
from mmcv_patches import DeviceDistributedDataParallel
from tests.testing import free_port


@pytest.fixture
def gloo_world():
    """A one-process gloo group in this process."""
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:'
        f'{free_port()}',
        rank=0,
        world_size=1)
    yield
    dist.destroy_process_group()


def _fake_runner(**cfg):
    return types.SimpleNamespace(
        distributed=True,
        cfg=ConfigDict(cfg),
        logger=MMLogger.get_current_instance())


def test_cpu_ddp_with_options(gloo_world):
    model = ToyModel()
    ddp = DeviceDistributedDataParallel(
        model,
        device_ids=[0],
        broadcast_buffers=True,
        find_unused_parameters=True,
        static_graph=False)
    assert ddp.device_ids is None and ddp.output_device is None
    assert ddp.find_unused_parameters is True
    assert ddp.wrapper_options == dict(
        broadcast_buffers=True,
        find_unused_parameters=True,
        static_graph=False)
    ow = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    before = model.fc.weight.detach().clone()
    data = dict(x=torch.randn(2, 3, 8, 8), y=torch.randn(2, 1))
    log = ddp.train_step(data, optim_wrapper=ow)
    assert torch.isfinite(log['loss'])
    assert not torch.equal(before, model.fc.weight)
    static = DeviceDistributedDataParallel(ToyModel(), static_graph=True)
    assert static.static_graph


def test_wrap_model_on_cpu_uses_device_ddp(gloo_world, monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')  # upstream passes [LOCAL_RANK]
    fake = _fake_runner(find_unused_parameters=True)
    wrapped = Runner.wrap_model(fake, None, ToyModel())
    assert type(wrapped) is DeviceDistributedDataParallel
    assert wrapped.device_ids is None
    assert wrapped.wrapper_options['find_unused_parameters'] is True
    assert wrapped.wrapper_options['broadcast_buffers'] is False
    # an explicit MMDistributedDataParallel config keeps its options
    wrapped = Runner.wrap_model(
        _fake_runner(),
        dict(type='MMDistributedDataParallel', static_graph=True), ToyModel())
    assert type(wrapped) is DeviceDistributedDataParallel
    assert wrapped.static_graph


def test_wrap_model_is_noop_on_cuda_without_offset(monkeypatch):
    import mmengine.device
    calls = []
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cuda')
    monkeypatch.setattr(prunner, '_upstream',
                        lambda name: lambda s, c, m: calls.append(c))
    monkeypatch.delenv('DEVICE_ID_OFFSET', raising=False)
    Runner.wrap_model(_fake_runner(), None, ToyModel())
    assert calls == [None]  # upstream gets the config unchanged
    monkeypatch.setenv('DEVICE_ID_OFFSET', '2')
    Runner.wrap_model(_fake_runner(), None, ToyModel())
    assert calls[-1]['type'] == 'DeviceDistributedDataParallel'
    # other wrappers are left alone
    Runner.wrap_model(_fake_runner(), dict(type='MMFullyShardedDataParallel'),
                      ToyModel())
    assert calls[-1] == dict(type='MMFullyShardedDataParallel')


def test_accelerator_device_ids_follow_the_module(monkeypatch):
    seen = {}

    def fake_init(self, module, detect_anomalous_params=False, **kwargs):
        seen.update(kwargs)

    monkeypatch.setattr(MMDistributedDataParallel, '__init__', fake_init)
    monkeypatch.setattr(mw, 'module_device', lambda m: torch.device('cuda', 5))
    obj = object.__new__(DeviceDistributedDataParallel)
    torch.nn.Module.__init__(obj)
    DeviceDistributedDataParallel.__init__(obj, ToyModel(), device_ids=[1])
    assert seen['device_ids'] == [5] and seen['output_device'] == 5
    assert seen['find_unused_parameters'] is False
