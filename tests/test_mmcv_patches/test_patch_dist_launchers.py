"""mmcv_patches.dist: ``--launcher slurm`` and ``--launcher mpi``.

Environment parsing and errors in-process; real 2-process gloo jobs on CPU
with the Slurm / Open MPI variables set per process (a fake ``scontrol`` in
``PATH``, no Slurm or mpirun needed); device choice with NPU / CUDA
stand-ins.
"""
import json
import os
import os.path as osp
import stat
import subprocess
import sys
import textwrap
import types

import pytest
import torch

import mmcv_patches
from mmcv_patches import dist as pdist
from tests.testing import REPO_ROOT, free_port, python_exe

SLURM = dict(
    SLURM_PROCID='5',
    SLURM_NTASKS='8',
    SLURM_NODELIST='node[01-02]',
    MASTER_ADDR='10.0.0.1')
MPI = dict(
    OMPI_COMM_WORLD_RANK='3',
    OMPI_COMM_WORLD_SIZE='4',
    OMPI_COMM_WORLD_LOCAL_RANK='1',
    MASTER_ADDR='10.0.0.2')
# what a launcher run reads or writes; cleared around each test
_DIST_VARS = ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT',
              'LOCAL_WORLD_SIZE', 'NNODES', 'NODE_RANK', 'GROUP_RANK',
              'DEVICE_ID_OFFSET')


def _launcher_var(name):
    return name in _DIST_VARS or name.startswith(('SLURM_', 'OMPI_'))


@pytest.fixture
def clean_env():
    """os.environ without launcher variables; restored afterwards."""
    saved = dict(os.environ)
    for k in list(os.environ):
        if _launcher_var(k):
            del os.environ[k]
    yield os.environ
    os.environ.clear()
    os.environ.update(saved)


def fake_scontrol(bin_dir, hosts=('localhost', 'node02'), rc=0, stderr=''):
    """An ``scontrol`` script that logs its arguments and prints hosts."""
    os.makedirs(bin_dir, exist_ok=True)
    path = osp.join(bin_dir, 'scontrol')
    log = osp.join(bin_dir, 'scontrol.log')
    lines = '\\n'.join(hosts)
    with open(path, 'w') as f:
        f.write(
            textwrap.dedent(f"""\
            #!/bin/sh
            echo "$@" >> '{log}'
            [ "$1 $2" = "show hostname" ] || exit 2
            printf '{lines}\\n'
            [ -n '{stderr}' ] && echo '{stderr}' >&2
            exit {rc}
            """))
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return log


# --------------------------------------------------------------- slurm env


def test_read_slurm_env_with_master_addr_needs_no_scontrol():
    env = pdist.read_slurm_env(dict(SLURM, PATH='/nonexistent'))
    assert (env.rank, env.world_size, env.launcher) == (5, 8, 'slurm')
    # no SLURM_LOCALID / tasks per node / nodes on CPU: one node
    assert (env.local_rank, env.node_rank, env.nnodes) == (5, 0, 1)
    assert env.master_addr == '10.0.0.1' and env.master_port == 29500
    assert env.device_id == 5


def test_read_slurm_env_resolves_master_with_scontrol(tmp_path):
    log = fake_scontrol(str(tmp_path))
    env = {k: v for k, v in SLURM.items() if k != 'MASTER_ADDR'}
    d = pdist.read_slurm_env(dict(env, PATH=str(tmp_path)))
    assert d.master_addr == 'localhost'  # first host, as mmengine
    with open(log) as f:
        assert f.read().split('\n')[0] == 'show hostname node[01-02]'


@pytest.mark.parametrize(
    'extra,devices,local,node',
    [
        (dict(SLURM_LOCALID='3', SLURM_NODEID='1'), 0, 3, 1),
        (dict(), 4, 1, 1),  # mmengine: PROCID % devices
        (dict(SLURM_NTASKS_PER_NODE='3'), 0, 2, 1),
        (dict(SLURM_TASKS_PER_NODE='2(x4)'), 0, 1, 2),
        (dict(SLURM_TASKS_PER_NODE='4'), 0, 1, 1),
        (dict(SLURM_NNODES='2'), 0, 1, 1),  # ceil(8 / 2) per node
        (dict(SLURM_JOB_NUM_NODES='4'), 0, 1, 2),
        # '3(x2),2' is not uniform: block distribution over SLURM_NNODES
        (dict(SLURM_TASKS_PER_NODE='3(x2),2', SLURM_NNODES='3'), 0, 2, 1),
        (dict(SLURM_NTASKS_PER_NODE='2', SLURM_LOCALID='1'), 8, 1, 2),
    ])
def test_slurm_local_rank_rules(extra, devices, local, node):
    d = pdist.read_slurm_env(dict(SLURM, **extra), devices_per_node=devices)
    assert (d.local_rank, d.node_rank) == (local, node)


def test_slurm_port_precedence():
    assert pdist.read_slurm_env(SLURM).master_port == 29500
    env = dict(SLURM, MASTER_PORT='29611')
    assert pdist.read_slurm_env(env).master_port == 29611
    assert pdist.read_slurm_env(env, port=29700).master_port == 29700


@pytest.mark.parametrize('drop,missing,present', [
    (('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
     'SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST', None),
    (('SLURM_NODELIST', ), 'SLURM_NODELIST', 'SLURM_PROCID, SLURM_NTASKS'),
    (('SLURM_NTASKS', ), 'SLURM_NTASKS', 'SLURM_PROCID, SLURM_NODELIST'),
])
def test_slurm_missing_vars_are_named(drop, missing, present):
    env = {k: v for k, v in SLURM.items() if k not in drop}
    with pytest.raises(pdist.DistEnvError) as e:
        pdist.read_slurm_env(env)
    msg = str(e.value)
    assert msg.startswith('--launcher slurm needs')
    assert f'missing: {missing}' in msg and 'srun' in msg
    if present:
        assert f'(set: {present})' in msg
    else:
        assert 'set: ' not in msg


def test_slurm_without_scontrol(tmp_path):
    env = {k: v for k, v in SLURM.items() if k != 'MASTER_ADDR'}
    with pytest.raises(pdist.DistEnvError) as e:
        pdist.read_slurm_env(dict(env, PATH=str(tmp_path)))
    msg = str(e.value)
    assert 'missing: scontrol in PATH' in msg
    assert "SLURM_NODELIST='node[01-02]'" in msg and 'MASTER_ADDR' in msg


def test_slurm_scontrol_fails(tmp_path):
    fake_scontrol(
        str(tmp_path),
        hosts=(),
        rc=1,
        stderr='scontrol: error: Invalid hostlist')
    env = {k: v for k, v in SLURM.items() if k != 'MASTER_ADDR'}
    with pytest.raises(
            pdist.DistEnvError,
            match='exited with 1 and printed no host: scontrol: '
            'error: Invalid hostlist'):
        pdist.read_slurm_env(dict(env, PATH=str(tmp_path)))


@pytest.mark.parametrize('extra,match', [
    (dict(SLURM_PROCID='8'), r'SLURM_PROCID=8 not in \[0, SLURM_NTASKS=8\)'),
    (dict(SLURM_NTASKS_PER_NODE='4',
          SLURM_LOCALID='4'), 'SLURM_LOCALID=4 not in'),
    (dict(SLURM_NNODES='2', SLURM_NODEID='2'), 'SLURM_NODEID=2 not in'),
    (dict(SLURM_NTASKS='many'), "SLURM_NTASKS='many' is not an integer"),
    (dict(DEVICE_ID_OFFSET='-2'), 'DEVICE_ID_OFFSET=-2'),
])
def test_slurm_inconsistent(extra, match):
    with pytest.raises(pdist.DistEnvError, match=match):
        pdist.read_slurm_env(dict(SLURM, **extra))


# ----------------------------------------------------------------- mpi env


def test_read_mpi_env():
    d = pdist.read_mpi_env(MPI)
    assert (d.rank, d.local_rank, d.world_size) == (3, 1, 4)
    assert (d.master_addr, d.master_port, d.launcher) == ('10.0.0.2', 29500,
                                                          'mpi')
    d = pdist.read_mpi_env(
        dict(
            MPI,
            OMPI_COMM_WORLD_LOCAL_SIZE='2',
            MASTER_PORT='29123',
            DEVICE_ID_OFFSET='2'))
    assert (d.nnodes, d.node_rank, d.local_world_size) == (2, 1, 2)
    assert d.master_port == 29123 and d.device_id == 3


def test_mpi_missing_vars_are_named():
    with pytest.raises(pdist.DistEnvError) as e:
        pdist.read_mpi_env({})
    assert ('missing: OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, '
            'OMPI_COMM_WORLD_LOCAL_RANK, MASTER_ADDR') in str(e.value)
    env = {k: v for k, v in MPI.items() if k != 'MASTER_ADDR'}
    with pytest.raises(pdist.DistEnvError) as e:
        pdist.read_mpi_env(env)
    msg = str(e.value)
    assert msg.startswith('--launcher mpi needs')
    assert 'missing: MASTER_ADDR (set: OMPI_COMM_WORLD_RANK' in msg
    assert 'mpirun' in msg and '-x MASTER_ADDR' in msg


@pytest.mark.parametrize('extra,match', [
    (dict(OMPI_COMM_WORLD_RANK='4'), 'OMPI_COMM_WORLD_RANK=4 not in'),
    (dict(OMPI_COMM_WORLD_LOCAL_SIZE='1'),
     r'OMPI_COMM_WORLD_LOCAL_RANK=1 not in \[0, OMPI_COMM_WORLD_LOCAL_SIZE'),
    (dict(MASTER_PORT='http'), "MASTER_PORT='http' is not an integer"),
])
def test_mpi_inconsistent(extra, match):
    with pytest.raises(pdist.DistEnvError, match=match):
        pdist.read_mpi_env(dict(MPI, **extra))


# ------------------------------------------------- patches and init_dist


def test_launcher_patches_installed_once():
    import mmengine.dist.utils as mm_dist_utils
    assert mm_dist_utils._init_dist_slurm is pdist._patched_init_dist_slurm
    assert mm_dist_utils._init_dist_mpi is pdist._patched_init_dist_mpi
    assert pdist.patch_init_dist_slurm() == 'already patched'
    assert pdist.patch_init_dist_mpi() == 'already patched'
    for name in ('dist.init_dist_pytorch', 'dist.init_dist_slurm',
                 'dist.init_dist_mpi'):
        assert name in mmcv_patches.applied_patches()


@pytest.mark.parametrize('launcher,env,missing', [
    ('slurm', dict(SLURM_PROCID='0'), 'missing: SLURM_NTASKS, SLURM_NODELIST'),
    ('mpi', dict(OMPI_COMM_WORLD_LOCAL_RANK='0'),
     'missing: OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, MASTER_ADDR'),
])
def test_missing_vars_through_init_dist(clean_env, launcher, env, missing):
    from mmengine.dist import init_dist
    clean_env.update(env)
    with pytest.raises(pdist.DistEnvError, match=missing):
        init_dist(launcher)


@pytest.fixture
def fake_npu(monkeypatch, clean_env):
    """Stand-in torch_npu with 8 devices; records set_device / init."""
    calls = dict(set_device=[], init=[])
    npu = types.SimpleNamespace(
        device_count=lambda: 8,
        set_device=lambda i: calls['set_device'].append(i))
    monkeypatch.setitem(sys.modules, 'torch_npu',
                        types.ModuleType('torch_npu'))
    monkeypatch.setattr(torch, 'npu', npu, raising=False)
    import mmengine.device
    monkeypatch.setattr(mmengine.device, 'is_npu_available', lambda: True)
    monkeypatch.setattr(torch.distributed, 'init_process_group',
                        lambda **kw: calls['init'].append(kw))
    return calls


def _exported():
    return {k: os.environ.get(k) for k in pdist.REQUIRED_VARS}


def test_slurm_on_npu(fake_npu, clean_env):
    import mmengine.dist.utils as mm_dist_utils

    # 16 tasks on 2 nodes, no SLURM_LOCALID: PROCID % 8 NPUs (mmengine)
    clean_env.update(dict(SLURM, SLURM_PROCID='9', SLURM_NTASKS='16'))
    mm_dist_utils._init_dist_slurm('nccl', port=29612)
    assert fake_npu['set_device'] == [1]
    assert fake_npu['init'] == [dict(backend='hccl', rank=9, world_size=16)]
    assert _exported() == dict(
        RANK='9',
        LOCAL_RANK='1',
        WORLD_SIZE='16',
        MASTER_ADDR='10.0.0.1',
        MASTER_PORT='29612')


def test_slurm_on_npu_with_offset(fake_npu, clean_env):
    clean_env.update(dict(SLURM, SLURM_LOCALID='3', DEVICE_ID_OFFSET='4'))
    pdist.init_dist_slurm('hccl')
    assert fake_npu['set_device'] == [7]
    clean_env['SLURM_LOCALID'] = '4'
    with pytest.raises(pdist.DistEnvError, match='npu:8'):
        pdist.init_dist_slurm('hccl')


def test_mpi_on_npu(fake_npu, clean_env):
    from mmengine.dist import init_dist
    clean_env.update(dict(MPI, OMPI_COMM_WORLD_LOCAL_RANK='2'))
    init_dist('mpi', backend='nccl')
    assert fake_npu['set_device'] == [2]
    assert fake_npu['init'] == [dict(backend='hccl', rank=3, world_size=4)]
    # LOCAL_RANK too: mmengine's Runner.wrap_model reads it
    assert _exported() == dict(
        RANK='3',
        LOCAL_RANK='2',
        WORLD_SIZE='4',
        MASTER_ADDR='10.0.0.2',
        MASTER_PORT='29500')


@pytest.fixture
def fake_cuda(monkeypatch, clean_env):
    """4 'CUDA' devices; records set_device, init and upstream calls."""
    calls = dict(set_device=[], init=[], upstream=[])
    monkeypatch.setattr(pdist, 'select_device', lambda: 'cuda')
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 4)
    monkeypatch.setattr(torch.cuda, 'set_device',
                        lambda i: calls['set_device'].append(i))
    monkeypatch.setattr(torch.distributed, 'init_process_group',
                        lambda **kw: calls['init'].append(kw))
    for fn in (pdist._patched_init_dist_slurm, pdist._patched_init_dist_mpi):

        def upstream(backend, _name=fn.__name__, **kw):
            calls['upstream'].append((_name, backend, kw, _exported()))

        monkeypatch.setattr(fn, '__mmcv_patches_original__', upstream)
    return calls


def test_cuda_without_offset_defers_to_upstream(fake_cuda, clean_env):
    import mmengine.dist.utils as mm_dist_utils
    clean_env.update(SLURM)
    mm_dist_utils._init_dist_slurm('nccl', port=29613, init_backend='torch')
    name, backend, kw, exported = fake_cuda['upstream'][0]
    assert (name, backend) == ('_patched_init_dist_slurm', 'nccl')
    assert kw == dict(port=29613, init_backend='torch')
    # checked and exported before upstream runs (PROCID 5 % 4 GPUs)
    assert exported['LOCAL_RANK'] == '1' and exported['MASTER_PORT'] == \
        '29613'
    clean_env.update(MPI)
    mm_dist_utils._init_dist_mpi('nccl', timeout=None)
    assert fake_cuda['upstream'][1][:3] == ('_patched_init_dist_mpi', 'nccl',
                                            dict(timeout=None))
    assert fake_cuda['init'] == [] and fake_cuda['set_device'] == []


def test_cuda_with_offset_uses_device_path(fake_cuda, clean_env):
    import mmengine.dist.utils as mm_dist_utils
    clean_env.update(dict(SLURM, SLURM_LOCALID='1', DEVICE_ID_OFFSET='2'))
    mm_dist_utils._init_dist_slurm('nccl')
    clean_env.update(dict(MPI, OMPI_COMM_WORLD_LOCAL_RANK='0'))
    mm_dist_utils._init_dist_mpi('gloo')
    assert fake_cuda['upstream'] == []
    assert fake_cuda['set_device'] == [3, 2]
    assert fake_cuda['init'] == [
        dict(backend='nccl', rank=5, world_size=8),
        dict(backend='gloo', rank=3, world_size=4)
    ]


# ------------------------------------------- real 2-process gloo jobs (CPU)

WORKER = '''
import json, os, sys
mode, out = sys.argv[1], sys.argv[2]
if mode == 'runner':
    # like tools/train.py of a config with custom_imports: the patches
    # arrive with Config.fromfile, before Runner.setup_env calls init_dist
    assert 'mmcv_patches' not in sys.modules
    from mmengine.config import Config
    cfg = Config.fromfile(sys.argv[3])
    import mmengine.dist.utils as u
    patched = u._init_dist_slurm.__module__
    import torch.nn as nn
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Tiny(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, x, mode='loss'):
            return dict(loss=self.fc(x).sum())

    runner = Runner(model=Tiny(), work_dir=out, launcher=cfg.launcher,
                    env_cfg=cfg.env_cfg, cfg=cfg, log_level='WARNING')
    extra = dict(patched=patched, wrapper=type(runner.model).__name__,
                 runner_rank=runner.rank, runner_world=runner.world_size)
else:
    import mmcv_patches
    from mmengine.dist import init_dist
    init_dist(mode, backend='nccl', **json.loads(sys.argv[3]))
    extra = {}
import torch
import torch.distributed as dist
t = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(t)
rec = dict(extra, rank=dist.get_rank(), world=dist.get_world_size(),
           backend=dist.get_backend(), sum=t.item(),
           env={k: os.environ.get(k) for k in (
               'RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR',
               'MASTER_PORT')})
with open(os.path.join(out, 'rank%d.json' % dist.get_rank()), 'w') as f:
    json.dump(rec, f)
'''


def run_job(tmp_path, mode, per_rank_env, arg='{}', timeout=120):
    """Start one worker per env dict, wait, return rank -> record."""
    script = tmp_path / 'worker.py'
    script.write_text(WORKER)
    out = tmp_path / 'out'
    out.mkdir()
    base = {k: v for k, v in os.environ.items() if not _launcher_var(k)}
    base.update(
        PYTHONPATH=REPO_ROOT,
        CUDA_VISIBLE_DEVICES='',
        OMP_NUM_THREADS='1',
        PATH=str(tmp_path / 'bin') + os.pathsep + base['PATH'])
    procs = [
        subprocess.Popen(
            [python_exe(), str(script), mode,
             str(out), arg],
            cwd=REPO_ROOT,
            env=dict(base, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True) for env in per_rank_env
    ]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=timeout)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-4000:]
    recs = {}
    for i in range(len(per_rank_env)):
        with open(out / f'rank{i}.json') as f:
            recs[i] = json.load(f)
    return recs


def _check_group(recs, world):
    assert sorted(recs) == list(range(world))
    for rank, rec in recs.items():
        assert (rec['rank'], rec['world'], rec['backend']) == (rank, world,
                                                               'gloo')
        assert rec['sum'] == world * (world + 1) / 2
        assert rec['env']['RANK'] == str(rank)
        assert rec['env']['WORLD_SIZE'] == str(world)


def test_slurm_two_processes_through_runner_and_custom_imports(tmp_path):
    """Config with custom_imports + Runner(launcher='slurm') on CPU."""
    log = fake_scontrol(str(tmp_path / 'bin'))
    cfg = tmp_path / 'cfg.py'
    cfg.write_text("custom_imports = dict(imports=['mmcv_patches'], "
                   "allow_failed_imports=False)\n"
                   "launcher = 'slurm'\n"
                   "env_cfg = dict(dist_cfg=dict(backend='nccl'))\n")
    port = str(free_port())
    recs = run_job(
        tmp_path,
        'runner', [
            dict(
                SLURM_PROCID=str(i),
                SLURM_LOCALID=str(i),
                SLURM_NTASKS='2',
                SLURM_NODELIST='node[01-02]',
                MASTER_PORT=port) for i in range(2)
        ],
        arg=str(cfg))
    _check_group(recs, 2)
    for rank, rec in recs.items():
        assert rec['patched'] == 'mmcv_patches.dist'
        assert rec['wrapper'] == 'DeviceDistributedDataParallel'
        assert (rec['runner_rank'], rec['runner_world']) == (rank, 2)
        assert rec['env'] == dict(
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE='2',
            MASTER_ADDR='localhost',
            MASTER_PORT=port)
    with open(log) as f:
        assert f.read().split('\n')[:2] == ['show hostname node[01-02]'] * 2


def test_slurm_two_nodes_port_arg_no_localid(tmp_path):
    """One task on each of 2 'nodes': local rank 0 from the tasks/node."""
    fake_scontrol(str(tmp_path / 'bin'), hosts=('127.0.0.1', 'node02'))
    port = free_port()
    recs = run_job(
        tmp_path,
        'slurm',
        [
            dict(
                SLURM_PROCID=str(i),
                SLURM_NTASKS='2',
                SLURM_NNODES='2',
                SLURM_NTASKS_PER_NODE='1',
                SLURM_NODELIST='node[01-02]',
                MASTER_PORT='1')  # the port argument wins
            for i in range(2)
        ],
        arg=json.dumps(dict(port=port)))
    _check_group(recs, 2)
    for rec in recs.values():
        assert rec['env']['LOCAL_RANK'] == '0'
        assert rec['env']['MASTER_PORT'] == str(port)
        assert rec['env']['MASTER_ADDR'] == '127.0.0.1'


def test_mpi_two_processes(tmp_path):
    port = str(free_port())
    recs = run_job(tmp_path, 'mpi', [
        dict(
            OMPI_COMM_WORLD_RANK=str(i),
            OMPI_COMM_WORLD_SIZE='2',
            OMPI_COMM_WORLD_LOCAL_RANK=str(i),
            OMPI_COMM_WORLD_LOCAL_SIZE='2',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=port) for i in range(2)
    ])
    _check_group(recs, 2)
    for rank, rec in recs.items():
        assert rec['env'] == dict(
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE='2',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=port)
