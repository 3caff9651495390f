"""mmcv_patches.dist: torchrun environment, device/backend choice, init."""
import os
import subprocess
import sys
import textwrap
import types

import pytest
import torch

import mmcv_patches
from mmcv_patches import dist as pdist
from tests.testing import REPO_ROOT, free_port, python_exe

FULL_ENV = dict(
    RANK='3',
    LOCAL_RANK='1',
    WORLD_SIZE='4',
    MASTER_ADDR='10.0.0.1',
    MASTER_PORT='29501')


def test_read_full_env_defaults():
    env = pdist.read_dist_env(FULL_ENV)
    assert (env.rank, env.local_rank, env.world_size) == (3, 1, 4)
    assert env.master_addr == '10.0.0.1' and env.master_port == 29501
    assert (env.nnodes, env.node_rank, env.device_id_offset) == (1, 0, 0)
    assert env.local_world_size == 4 and env.device_id == 1


def test_read_multinode_env_and_offset():
    env = pdist.read_dist_env(
        dict(
            FULL_ENV,
            NNODES='2',
            NODE_RANK='1',
            LOCAL_WORLD_SIZE='2',
            DEVICE_ID_OFFSET='4'))
    assert (env.nnodes, env.node_rank, env.local_world_size) == (2, 1, 2)
    assert env.device_id == 5
    # torchrun's GROUP_RANK is accepted for the node rank
    env = pdist.read_dist_env(dict(FULL_ENV, NNODES='2', GROUP_RANK='1'))
    assert env.node_rank == 1


@pytest.mark.parametrize(
    'drop',
    [['MASTER_PORT'], ['RANK', 'WORLD_SIZE'], ['MASTER_ADDR', 'LOCAL_RANK']])
def test_half_set_env_lists_missing(drop):
    env = {k: v for k, v in FULL_ENV.items() if k not in drop}
    with pytest.raises(pdist.DistEnvError) as e:
        pdist.read_dist_env(env)
    msg = str(e.value)
    assert 'missing: ' + ', '.join(
        k for k in pdist.REQUIRED_VARS if k in drop) in msg
    assert 'set: ' in msg and 'dist_train.sh' in msg


def test_empty_env_and_multinode_without_node_rank():
    with pytest.raises(pdist.DistEnvError, match='missing: RANK, LOCAL_RANK'):
        pdist.read_dist_env({})
    with pytest.raises(pdist.DistEnvError, match='missing: NODE_RANK'):
        pdist.read_dist_env(dict(FULL_ENV, NNODES='2'))


@pytest.mark.parametrize('extra,match', [
    (dict(RANK='4'), 'RANK=4 not in'),
    (dict(LOCAL_WORLD_SIZE='1'), 'LOCAL_RANK=1 not in'),
    (dict(NNODES='2', NODE_RANK='2'), 'NODE_RANK=2 not in'),
    (dict(NNODES='3', NODE_RANK='0', LOCAL_WORLD_SIZE='2'), 'x LOCAL_WORLD'),
    (dict(DEVICE_ID_OFFSET='-1'), 'DEVICE_ID_OFFSET=-1'),
    (dict(RANK='x'), 'not an integer'),
])
def test_inconsistent_env(extra, match):
    with pytest.raises(pdist.DistEnvError, match=match):
        pdist.read_dist_env(dict(FULL_ENV, **extra))


def test_select_backend():
    assert pdist.select_backend('cpu', None) == 'gloo'
    assert pdist.select_backend('cpu', 'nccl') == 'gloo'  # mmdet default
    assert pdist.select_backend('cpu', 'gloo') == 'gloo'
    assert pdist.select_backend('cuda', 'nccl') == 'nccl'
    assert pdist.select_backend('cuda', 'gloo') == 'gloo'
    assert pdist.select_backend('npu', 'nccl') == 'hccl'
    assert pdist.select_backend('npu', None) == 'hccl'
    if not torch.cuda.is_available():
        assert pdist.select_device() == 'cpu'  # this machine


def test_patch_is_installed_once():
    import mmengine.dist.utils as mm_dist_utils
    assert mm_dist_utils._init_dist_pytorch is pdist._patched_init_dist_pytorch
    assert pdist.patch_init_dist() == 'already patched'
    assert 'dist.init_dist_pytorch' in mmcv_patches.applied_patches()


@pytest.fixture
def fake_npu(monkeypatch):
    """Stand-in torch_npu: records set_device / init_process_group."""
    calls = dict(set_device=[], init=[])
    npu = types.SimpleNamespace(
        device_count=lambda: 8,
        set_device=lambda i: calls['set_device'].append(i),
        current_device=lambda: calls['set_device'][-1])
    mod = types.ModuleType('torch_npu')
    monkeypatch.setitem(sys.modules, 'torch_npu', mod)
    monkeypatch.setattr(torch, 'npu', npu, raising=False)
    import mmengine.device
    import mmengine.dist.utils as mm_dist_utils
    monkeypatch.setattr(mmengine.device, 'is_npu_available', lambda: True)
    monkeypatch.setattr(mm_dist_utils, 'is_npu_available', lambda: True)
    monkeypatch.setattr(torch.distributed, 'init_process_group',
                        lambda **kw: calls['init'].append(kw))
    for k, v in FULL_ENV.items():
        monkeypatch.setenv(k, v)
    return calls


def test_npu_offset_uses_shifted_device_and_hccl(fake_npu, monkeypatch):
    monkeypatch.setenv('DEVICE_ID_OFFSET', '4')
    import mmengine.dist.utils as mm_dist_utils
    mm_dist_utils._init_dist_pytorch('nccl')
    assert fake_npu['set_device'] == [5]
    assert fake_npu['init'] == [dict(backend='hccl', rank=3, world_size=4)]


def test_npu_without_offset_defers_to_upstream(fake_npu):
    import mmengine.dist.utils as mm_dist_utils
    mm_dist_utils._init_dist_pytorch('nccl')
    # upstream: torch.npu.set_device(LOCAL_RANK), hccl
    assert fake_npu['set_device'] == [1]
    assert fake_npu['init'][0]['backend'] == 'hccl'


def test_npu_offset_beyond_devices(fake_npu, monkeypatch):
    monkeypatch.setenv('DEVICE_ID_OFFSET', '7')
    with pytest.raises(pdist.DistEnvError, match='npu:8'):
        pdist.init_dist_pytorch('hccl')


def test_half_set_env_through_init_dist(monkeypatch):
    from mmengine.dist import init_dist
    for k in pdist.REQUIRED_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '2')
    with pytest.raises(
            pdist.DistEnvError,
            match='missing: LOCAL_RANK, MASTER_ADDR, MASTER_PORT'):
        init_dist('pytorch')


def _run_single_rank(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` as rank 0 of a 1-process torchrun-style job on CPU and
    check that it exits 0."""
    env = dict(
        os.environ,
        RANK='0',
        LOCAL_RANK='0',
        WORLD_SIZE='1',
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(free_port()),
        PYTHONPATH=REPO_ROOT,
        CUDA_VISIBLE_DEVICES='')
    out = subprocess.run(
        [python_exe(), '-c', textwrap.dedent(code)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_init_dist_cpu_gloo_in_subprocess():
    """init_dist('pytorch') with mmdet's default nccl works on CPU (gloo)."""
    code = textwrap.dedent("""
        import mmcv_patches, torch.distributed as d
        from mmengine.dist import init_dist, get_dist_info
        init_dist('pytorch', backend='nccl')
        print('OK', d.get_backend(), get_dist_info())
        d.destroy_process_group()
    """)
    out = _run_single_rank(code)
    assert 'OK gloo (0, 1)' in out.stdout


def test_shutdown_frees_group_holders_before_destroying():
    """At exit the group is left after freeing unreachable objects that hold
    it (a DDP model in a reference cycle), not during interpreter
    finalisation; a second call is a no-op."""
    code = textwrap.dedent("""
        import atexit, gc, weakref
        import torch, torch.distributed as d
        import mmcv_patches
        from mmcv_patches.dist import shutdown_process_group
        from mmengine.dist import init_dist
        gc.disable()
        init_dist('pytorch', backend='gloo')
        ddp = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 2))
        holder = dict(model=ddp)
        holder['self'] = holder  # a cycle: only the collector frees it
        ref = weakref.ref(ddp)
        del ddp, holder
        assert ref() is not None
        shutdown_process_group()
        print('FREED', ref() is None, 'INIT', d.is_initialized())
        shutdown_process_group()
    """)
    out = _run_single_rank(code)
    assert 'FREED True INIT False' in out.stdout
