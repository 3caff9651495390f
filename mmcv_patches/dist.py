"""Device-aware distributed initialisation (CUDA / Ascend NPU / CPU).

One init path for mmengine's three launchers, ``--launcher pytorch``
(torchrun), ``--launcher slurm`` (``srun``) and ``--launcher mpi`` (Open MPI
``mpirun``): each reads and checks its launcher's environment into a
:class:`DistEnv`, then :func:`init_from_env` picks the device and the
matching communication backend (``nccl`` on CUDA, ``hccl`` on NPU, ``gloo``
on CPU), makes device ``local rank + DEVICE_ID_OFFSET`` current and calls
``torch.distributed.init_process_group``.

``--launcher pytorch`` (set by ``torch.distributed.run`` /
``tools/dist_train.sh``):

=====================  =====================================================
``RANK``               global rank, ``0 <= RANK < WORLD_SIZE``
``LOCAL_RANK``         rank on this node
``WORLD_SIZE``         number of processes over all nodes
``MASTER_ADDR``        address of the rank-0 node
``MASTER_PORT``        port on the rank-0 node
``NNODES``             number of nodes (optional, default 1)
``NODE_RANK``          this node's index (needed when ``NNODES > 1``;
                       torchrun's ``GROUP_RANK`` is accepted too)
``LOCAL_WORLD_SIZE``   processes on this node (optional,
                       default ``WORLD_SIZE // NNODES``)
``DEVICE_ID_OFFSET``   optional, default 0: process ``LOCAL_RANK`` uses
                       device ``LOCAL_RANK + DEVICE_ID_OFFSET`` (the Ascend
                       scripts' ``NPUID`` shift: run two jobs on one 8-NPU
                       host with offsets 0 and 4); all launchers
=====================  =====================================================

``--launcher slurm`` (set by ``srun``; mmengine's semantics):

=========================  =================================================
``SLURM_PROCID``           global rank
``SLURM_NTASKS``           world size
``SLURM_NODELIST``         the job's nodes; the first host of
                           ``scontrol show hostname $SLURM_NODELIST`` is the
                           master unless ``MASTER_ADDR`` is set
``MASTER_PORT``            optional: the ``port`` argument
                           (``env_cfg.dist_cfg.port``) wins, default 29500
``SLURM_LOCALID``          local rank (optional). Without it: ``SLURM_PROCID
                           % devices per node`` on accelerators (mmengine);
                           on CPU ``SLURM_PROCID % tasks per node``, tasks
                           per node from ``SLURM_NTASKS_PER_NODE``, a
                           uniform ``SLURM_TASKS_PER_NODE`` (``4`` or
                           ``4(x2)``), else ``ceil(SLURM_NTASKS /
                           SLURM_NNODES)`` (Slurm's block distribution),
                           else one node
``SLURM_NNODES``           optional (or ``SLURM_JOB_NUM_NODES``)
``SLURM_NODEID``           optional node index
=========================  =================================================

``--launcher mpi`` (set by Open MPI's ``mpirun``; mmengine's semantics):
``OMPI_COMM_WORLD_RANK``, ``OMPI_COMM_WORLD_SIZE``,
``OMPI_COMM_WORLD_LOCAL_RANK`` and ``MASTER_ADDR`` (pass it with
``mpirun -x MASTER_ADDR=...``) are required; ``MASTER_PORT`` defaults to
29500; ``OMPI_COMM_WORLD_LOCAL_SIZE`` is optional.

The slurm and mpi paths export ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``MASTER_ADDR`` and ``MASTER_PORT`` before initialising (as mmengine's slurm
path does), so code written for torchrun (mmengine's ``Runner.wrap_model``
reads ``LOCAL_RANK``) works under every launcher.
"""
import atexit
import gc
import logging
import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Mapping, MutableMapping, Optional, Sequence

import torch
import torch.distributed as torch_dist

from ._patching import original, patch, replace_attr

REQUIRED_VARS = ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR',
                 'MASTER_PORT')
SLURM_REQUIRED_VARS = ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
MPI_REQUIRED_VARS = ('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
                     'OMPI_COMM_WORLD_LOCAL_RANK', 'MASTER_ADDR')
DEFAULT_PORT = 29500  # torch.distributed's default, as in mmengine
DEFAULT_BACKENDS = {
    'cuda': 'nccl',
    'npu': 'hccl',
    'mlu': 'cncl',
    'musa': 'mccl',
    'cpu': 'gloo'
}
# Devices on which mmengine 0.10.7's own ``_init_dist_<launcher>`` is right
# (then, without DEVICE_ID_OFFSET, the patched function checks the
# environment and defers to it). Upstream slurm/mpi call torch.cuda.set_device
# on every device but MLU (slurm), whose local-rank fallback divides by the
# CUDA device count: only CUDA is right there.
UPSTREAM_DEVICES = {
    'pytorch': ('cuda', 'npu', 'mlu', 'musa'),
    'slurm': ('cuda', ),
    'mpi': ('cuda', ),
}


class DistEnvError(RuntimeError):
    """The launcher environment is missing variables or is inconsistent."""


@dataclass
class DistEnv:
    """The distributed environment of this process (see module docstring).

    Filled by :func:`read_dist_env` (torchrun), :func:`read_slurm_env` or
    :func:`read_mpi_env`; ``launcher`` says which.
    """
    rank: int
    local_rank: int
    world_size: int
    master_addr: str
    master_port: int
    nnodes: int = 1
    node_rank: int = 0
    local_world_size: int = 1
    device_id_offset: int = 0
    launcher: str = 'pytorch'

    @property
    def device_id(self) -> int:
        """Accelerator index this process uses (int)."""
        return self.local_rank + self.device_id_offset


def _int_var(env: Mapping[str, str],
             name: str,
             default: Optional[int] = None) -> int:
    value = env.get(name)
    if value is None or value == '':
        if default is None:
            raise DistEnvError(f'environment variable {name} is not set')
        return default
    try:
        return int(value)
    except ValueError:
        raise DistEnvError(
            f'environment variable {name}={value!r} is not an integer'
        ) from None


def _require(env: Mapping[str, str], launcher: str, what: str,
             names: Sequence[str], hint: str) -> None:
    """Raise :class:`DistEnvError` naming every unset variable of ``names``.

    Message: ``--launcher <launcher> needs <what> (<names>); missing: A, B
    (set: C). <hint>``.
    """
    missing = [k for k in names if not env.get(k)]
    if missing:
        present = [k for k in names if env.get(k)]
        raise DistEnvError(
            f'--launcher {launcher} needs {what} ({", ".join(names)}); '
            f'missing: {", ".join(missing)}' +
            (f' (set: {", ".join(present)})' if present else '') + '. ' + hint)


def _validate(d: DistEnv, names: Mapping[str, str], check_local: bool,
              check_product: bool) -> DistEnv:
    """Check ``d`` for contradictions, naming the launcher's variables.

    Args:
        d (DistEnv): parsed values.
        names (Mapping[str, str]): ``rank``, ``world_size``, ``local_rank``,
            ``local_world_size``, ``node_rank``, ``nnodes`` -> the variable
            each came from (for the message).
        check_local (bool): check ``local_rank < local_world_size``.
        check_product (bool): check ``nnodes * local_world_size ==
            world_size``.

    Returns:
        DistEnv: ``d``.
    """
    n = names
    problems = []
    if d.world_size < 1:
        problems.append(f'{n["world_size"]}={d.world_size} < 1')
    if not 0 <= d.rank < d.world_size:
        problems.append(f'{n["rank"]}={d.rank} not in '
                        f'[0, {n["world_size"]}={d.world_size})')
    if d.local_rank < 0 or (check_local
                            and d.local_rank >= d.local_world_size):
        problems.append(f'{n["local_rank"]}={d.local_rank} not in '
                        f'[0, {n["local_world_size"]}={d.local_world_size})')
    if d.nnodes < 1 or not 0 <= d.node_rank < d.nnodes:
        problems.append(f'{n["node_rank"]}={d.node_rank} not in '
                        f'[0, {n["nnodes"]}={d.nnodes})')
    if check_product and d.nnodes * d.local_world_size != d.world_size:
        problems.append(f'{n["nnodes"]}={d.nnodes} x {n["local_world_size"]}='
                        f'{d.local_world_size} != {n["world_size"]}='
                        f'{d.world_size}')
    if d.device_id_offset < 0:
        problems.append(f'DEVICE_ID_OFFSET={d.device_id_offset} < 0')
    if problems:
        raise DistEnvError(f'inconsistent distributed environment '
                           f'(--launcher {d.launcher}): ' +
                           '; '.join(problems))
    return d


def read_dist_env(environ: Optional[Mapping[str, str]] = None) -> DistEnv:
    """Read and check the torchrun environment (``--launcher pytorch``).

    Args:
        environ (Mapping[str, str], optional): defaults to ``os.environ``.

    Returns:
        DistEnv: the parsed values.

    Raises:
        DistEnvError: when some of :data:`REQUIRED_VARS` (or ``NODE_RANK``
            with ``NNODES > 1``) are missing, listing exactly which, or when
            the values contradict each other.
    """
    env = os.environ if environ is None else environ
    _require(
        env, 'pytorch', 'the torchrun environment', REQUIRED_VARS,
        'Start the job with tools/dist_train.sh, tools/dist_test.sh '
        'or `python -m torch.distributed.run`.')
    rank = _int_var(env, 'RANK')
    local_rank = _int_var(env, 'LOCAL_RANK')
    world_size = _int_var(env, 'WORLD_SIZE')
    master_port = _int_var(env, 'MASTER_PORT')
    nnodes = _int_var(env, 'NNODES', 1)
    if nnodes > 1 and not (env.get('NODE_RANK') or env.get('GROUP_RANK')):
        raise DistEnvError(
            f'NNODES={nnodes} but NODE_RANK is not set (missing: NODE_RANK); '
            'every node needs its own NODE_RANK in [0, NNODES).')
    node_rank = _int_var(env, 'NODE_RANK', _int_var(env, 'GROUP_RANK', 0))
    local_world_size = _int_var(env, 'LOCAL_WORLD_SIZE',
                                max(world_size // max(nnodes, 1), 1))
    offset = _int_var(env, 'DEVICE_ID_OFFSET', 0)
    return _validate(
        DistEnv(rank, local_rank, world_size, env['MASTER_ADDR'], master_port,
                nnodes, node_rank, local_world_size, offset, 'pytorch'),
        dict(
            rank='RANK',
            world_size='WORLD_SIZE',
            local_rank='LOCAL_RANK',
            local_world_size='LOCAL_WORLD_SIZE',
            node_rank='NODE_RANK',
            nnodes='NNODES'),
        check_local=True,
        check_product='LOCAL_WORLD_SIZE' in env)


def slurm_master_addr(nodelist: str,
                      environ: Optional[Mapping[str, str]] = None) -> str:
    """First host of ``scontrol show hostname NODELIST`` (mmengine's way).

    Args:
        nodelist (str): ``SLURM_NODELIST``, e.g. ``node[01-04]``.
        environ (Mapping[str, str], optional): its ``PATH`` is searched for
            ``scontrol``; defaults to ``os.environ``.

    Raises:
        DistEnvError: ``scontrol`` is not in ``PATH``, fails, or prints no
            host (mmengine would use the shell's error text as the address).
    """
    env = os.environ if environ is None else environ
    exe = shutil.which('scontrol', path=env.get('PATH'))
    fix = ('Run the job under Slurm (srun / sbatch), or set MASTER_ADDR to '
           'the rank-0 host.')
    if exe is None:
        raise DistEnvError(
            '--launcher slurm needs `scontrol` (missing: scontrol in PATH) '
            f'to resolve SLURM_NODELIST={nodelist!r} to the master host. ' +
            fix)
    try:
        proc = subprocess.run([exe, 'show', 'hostname', nodelist],
                              capture_output=True,
                              text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DistEnvError(f'`scontrol show hostname {nodelist}` failed: '
                           f'{e}. ' + fix) from None
    hosts = proc.stdout.split()
    if proc.returncode != 0 or not hosts:
        raise DistEnvError(
            f'`scontrol show hostname {nodelist}` exited with '
            f'{proc.returncode} and printed no host' +
            (f': {proc.stderr.strip()}' if proc.stderr.strip() else '') +
            '. ' + fix)
    return hosts[0]


def _slurm_tasks_per_node(env: Mapping[str, str]) -> Optional[int]:
    """Tasks on every node (int), or None when unknown or not uniform."""
    if env.get('SLURM_NTASKS_PER_NODE'):
        return _int_var(env, 'SLURM_NTASKS_PER_NODE')
    # srun's compressed form: '4', '4(x2)'; '4(x2),3' is not uniform
    m = re.fullmatch(r'(\d+)(\(x\d+\))?',
                     env.get('SLURM_TASKS_PER_NODE', '').strip())
    return int(m.group(1)) if m else None


def read_slurm_env(environ: Optional[Mapping[str, str]] = None,
                   port: Optional[int] = None,
                   devices_per_node: int = 0) -> DistEnv:
    """Read and check the Slurm environment (``--launcher slurm``).

    Same semantics as mmengine's ``_init_dist_slurm``; see the module
    docstring for the variables and the local-rank rule.

    Args:
        environ (Mapping[str, str], optional): defaults to ``os.environ``.
        port (int, optional): master port; wins over ``MASTER_PORT``.
        devices_per_node (int): visible accelerators (0 on CPU); the local
            rank is ``SLURM_PROCID % devices_per_node`` without
            ``SLURM_LOCALID``, as in mmengine.

    Returns:
        DistEnv: the parsed values (``launcher='slurm'``).

    Raises:
        DistEnvError: missing :data:`SLURM_REQUIRED_VARS` (all of them are
            named), no usable ``scontrol`` when ``MASTER_ADDR`` is unset, or
            contradicting values.
    """
    env = os.environ if environ is None else environ
    _require(
        env, 'slurm', 'the Slurm task environment', SLURM_REQUIRED_VARS,
        'Start every process with srun (e.g. `srun -N 2 '
        '--ntasks-per-node=8 python tools/train.py CONFIG --launcher '
        'slurm`), or use --launcher pytorch with tools/dist_train.sh.')
    rank = _int_var(env, 'SLURM_PROCID')
    world_size = _int_var(env, 'SLURM_NTASKS')
    nnodes_var = 'SLURM_NNODES' if env.get('SLURM_NNODES') \
        else 'SLURM_JOB_NUM_NODES'
    nnodes = _int_var(env, nnodes_var, 0)
    tasks_per_node = _slurm_tasks_per_node(env)
    # tasks per node: explicit, else block distribution over the nodes
    if not tasks_per_node and nnodes > 0:
        tasks_per_node = math.ceil(world_size / nnodes)
    # local-rank divisor: devices per node on accelerators (mmengine)
    per_node = max(devices_per_node or tasks_per_node or world_size, 1)
    local_rank = _int_var(env, 'SLURM_LOCALID', rank % per_node)
    node_size = max(tasks_per_node or per_node, 1)
    derived_nodes = max(math.ceil(world_size / node_size), 1)
    node_rank = _int_var(env, 'SLURM_NODEID',
                         min(rank // node_size, (nnodes or derived_nodes) - 1))
    if nnodes < 1:
        nnodes = max(derived_nodes, node_rank + 1)
    if port is not None:
        master_port = int(port)
    else:
        master_port = _int_var(env, 'MASTER_PORT', DEFAULT_PORT)
    offset = _int_var(env, 'DEVICE_ID_OFFSET', 0)
    d = DistEnv(rank, local_rank, world_size, '', master_port, nnodes,
                node_rank, node_size, offset, 'slurm')
    _validate(
        d,
        dict(
            rank='SLURM_PROCID',
            world_size='SLURM_NTASKS',
            local_rank='SLURM_LOCALID',
            local_world_size='SLURM_NTASKS_PER_NODE',
            node_rank='SLURM_NODEID',
            nnodes=nnodes_var),
        check_local=bool(
            _slurm_tasks_per_node(env) and env.get('SLURM_LOCALID')),
        check_product=False)
    d.master_addr = env.get('MASTER_ADDR') or slurm_master_addr(
        env['SLURM_NODELIST'], env)
    return d


def read_mpi_env(environ: Optional[Mapping[str, str]] = None) -> DistEnv:
    """Read and check the Open MPI environment (``--launcher mpi``).

    Args:
        environ (Mapping[str, str], optional): defaults to ``os.environ``.

    Returns:
        DistEnv: the parsed values (``launcher='mpi'``; ``MASTER_PORT``
        defaults to 29500).

    Raises:
        DistEnvError: missing :data:`MPI_REQUIRED_VARS` (all of them are
            named) or contradicting values.
    """
    env = os.environ if environ is None else environ
    _require(
        env, 'mpi', 'the Open MPI environment and MASTER_ADDR',
        MPI_REQUIRED_VARS,
        'Start the job with Open MPI, e.g. `mpirun -np 8 -x '
        'MASTER_ADDR=<rank-0 host> -x MASTER_PORT=29500 python '
        'tools/train.py CONFIG --launcher mpi`.')
    rank = _int_var(env, 'OMPI_COMM_WORLD_RANK')
    world_size = _int_var(env, 'OMPI_COMM_WORLD_SIZE')
    local_rank = _int_var(env, 'OMPI_COMM_WORLD_LOCAL_RANK')
    local_size = _int_var(env, 'OMPI_COMM_WORLD_LOCAL_SIZE', 0)
    per_node = local_size if local_size > 0 else max(world_size, 1)
    return _validate(
        DistEnv(rank, local_rank, world_size, env['MASTER_ADDR'],
                _int_var(env, 'MASTER_PORT', DEFAULT_PORT),
                max(math.ceil(world_size / per_node), 1), rank // per_node,
                per_node, _int_var(env, 'DEVICE_ID_OFFSET', 0), 'mpi'),
        dict(
            rank='OMPI_COMM_WORLD_RANK',
            world_size='OMPI_COMM_WORLD_SIZE',
            local_rank='OMPI_COMM_WORLD_LOCAL_RANK',
            local_world_size='OMPI_COMM_WORLD_LOCAL_SIZE',
            node_rank='node rank',
            nnodes='nodes'),
        check_local=local_size > 0,
        check_product=False)


def export_dist_env(
        d: DistEnv,
        environ: Optional[MutableMapping[str, str]] = None) -> None:
    """Write ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
    ``MASTER_PORT`` of ``d`` into ``environ`` (default ``os.environ``).

    What torch's ``env://`` rendezvous and mmengine (``Runner.wrap_model``
    reads ``LOCAL_RANK``) expect, whatever the launcher.
    """
    env = os.environ if environ is None else environ
    env.update(
        RANK=str(d.rank),
        LOCAL_RANK=str(d.local_rank),
        WORLD_SIZE=str(d.world_size),
        MASTER_ADDR=d.master_addr,
        MASTER_PORT=str(d.master_port))


def select_device() -> str:
    """The accelerator type of this machine: npu, mlu, musa, cuda or cpu."""
    from mmengine.device import (is_cuda_available, is_mlu_available,
                                 is_musa_available, is_npu_available)
    if is_npu_available():
        return 'npu'
    if is_mlu_available():
        return 'mlu'
    if is_musa_available():
        return 'musa'
    if is_cuda_available():
        return 'cuda'
    return 'cpu'


def select_backend(device: str, requested: Optional[str] = None) -> str:
    """The communication backend for ``device``.

    Args:
        device (str): ``cuda``, ``npu``, ``mlu``, ``musa`` or ``cpu``.
        requested (str, optional): backend from ``env_cfg.dist_cfg``. It is
            kept when the device can use it (``gloo`` works everywhere,
            ``nccl``/``mpi`` on CUDA); an accelerator backend requested on
            another device (mmdet's default ``nccl`` on a CPU-only machine)
            is replaced by the device's own backend with a warning.

    Returns:
        str: backend name.
    """
    default = DEFAULT_BACKENDS[device]
    if requested is None or requested == default:
        return default
    usable = {'gloo', 'mpi'}
    if device == 'cuda':
        usable |= {'nccl', 'smddp'}
    if requested in usable:
        return requested
    from mmengine.logging import print_log
    print_log(
        f'dist backend {requested!r} cannot run on {device}; using '
        f'{default!r}',
        logger='current',
        level=logging.WARNING)
    return default


def _device_module(device: str):
    """``torch.<device>`` after importing its extension (torch_npu, ...)."""
    if device == 'npu':
        import torch_npu  # noqa: F401
    elif device == 'mlu':
        import torch_mlu  # noqa: F401
    elif device == 'musa':
        import torch_musa  # noqa: F401
    return getattr(torch, device)


def device_count(device: str) -> int:
    """Visible devices of type ``device`` (int); 0 for ``cpu``."""
    return 0 if device == 'cpu' else _device_module(device).device_count()


def set_device(device: str, index: int) -> None:
    """Make accelerator ``index`` (int) current for ``device`` (str)."""
    if device == 'cpu':
        return
    mod = _device_module(device)
    count = mod.device_count()
    if index >= count:
        raise DistEnvError(
            f'this process needs {device}:{index} (LOCAL_RANK + '
            f'DEVICE_ID_OFFSET) but only {count} {device} devices are '
            'visible')
    mod.set_device(index)


def _load_backend(backend: str) -> None:
    """Import the package that registers ``backend`` with torch (smddp)."""
    if backend != 'smddp':
        return
    try:
        import smdistributed.dataparallel.torch.torch_smddp  # noqa: F401
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            'Please use an Amazon SageMaker DLC to access smdistributed: '
            'https://github.com/aws/deep-learning-containers/blob/master'
            '/available_images.md#sagemaker-framework-containers'
            '-sm-support-only') from e


def init_from_env(d: DistEnv,
                  backend: Optional[str] = None,
                  init_backend: str = 'torch',
                  device: Optional[str] = None,
                  **kwargs) -> str:
    """The one init path of every launcher: device, backend, group.

    Makes device ``d.device_id`` current (nothing on CPU), picks the backend
    with :func:`select_backend` and initialises the default process group
    of ``d.rank`` / ``d.world_size`` (rendezvous ``env://``: ``MASTER_ADDR``
    and ``MASTER_PORT`` must be in ``os.environ``, see
    :func:`export_dist_env`).

    Args:
        d (DistEnv): from one of the ``read_*_env`` functions.
        backend (str, optional): requested backend.
        init_backend (str): ``'torch'``, ``'deepspeed'`` or ``'colossalai'``
            (``launch_from_slurm`` for slurm, else ``launch_from_torch``).
        device (str, optional): defaults to :func:`select_device`.
        **kwargs: passed to ``init_process_group`` (e.g. ``timeout``).

    Returns:
        str: the backend used.
    """
    device = device or select_device()
    set_device(device, d.device_id)
    backend = select_backend(device, backend)
    _load_backend(backend)
    if init_backend == 'torch':
        torch_dist.init_process_group(
            backend=backend, rank=d.rank, world_size=d.world_size, **kwargs)
        atexit.register(shutdown_process_group)
    elif init_backend == 'deepspeed':
        import deepspeed
        deepspeed.init_distributed(dist_backend=backend, **kwargs)
    elif init_backend == 'colossalai':
        import colossalai
        if d.launcher == 'slurm':
            colossalai.launch_from_slurm(
                backend=backend,
                host=d.master_addr,
                port=d.master_port,
                **kwargs)
        else:
            colossalai.launch_from_torch(backend=backend, **kwargs)
    else:
        raise ValueError('supported "init_backend" is "torch", "deepspeed" '
                         f'or "colossalai", but got {init_backend}')
    return backend


def _read_env(launcher: str, device: str, port: Optional[int]) -> DistEnv:
    if launcher == 'pytorch':
        return read_dist_env()
    if launcher == 'mpi':
        d = read_mpi_env()
    else:
        d = read_slurm_env(port=port, devices_per_node=device_count(device))
    export_dist_env(d)
    return d


def _init_dist(launcher: str, backend: Optional[str], init_backend: str,
               port: Optional[int], defer: bool, kwargs: dict) -> DistEnv:
    """Read/check/export the launcher's environment, then initialise.

    With ``defer`` (the patched mmengine functions) and a device in
    :data:`UPSTREAM_DEVICES` without ``DEVICE_ID_OFFSET``, mmengine's own
    ``_init_dist_<launcher>`` runs after the checks; else
    :func:`init_from_env`.
    """
    device = select_device()
    d = _read_env(launcher, device, port)
    if defer and d.device_id_offset == 0 and \
            device in UPSTREAM_DEVICES[launcher]:
        import mmengine.dist.utils as mm_dist_utils
        upstream = original(getattr(mm_dist_utils, f'_init_dist_{launcher}'))
        if launcher == 'slurm':
            kwargs = dict(kwargs, port=port)
        if launcher != 'mpi':
            kwargs = dict(kwargs, init_backend=init_backend)
        upstream(backend, **kwargs)
    else:
        init_from_env(d, backend, init_backend, device=device, **kwargs)
    return d


def init_dist_pytorch(backend: Optional[str] = None,
                      init_backend: str = 'torch',
                      **kwargs) -> DistEnv:
    """Initialise the default process group from the torchrun environment.

    Args:
        backend (str, optional): requested backend, see
            :func:`select_backend`.
        init_backend (str): ``'torch'``, ``'deepspeed'`` or
            ``'colossalai'``, see :func:`init_from_env`.
        **kwargs: passed to ``init_process_group`` (e.g. ``timeout``).

    Returns:
        DistEnv: the environment that was used.
    """
    return _init_dist('pytorch', backend, init_backend, None, False, kwargs)


def init_dist_slurm(backend: Optional[str] = None,
                    port: Optional[int] = None,
                    init_backend: str = 'torch',
                    **kwargs) -> DistEnv:
    """Initialise the default process group from the Slurm environment.

    Args:
        backend (str, optional): requested backend, see
            :func:`select_backend`.
        port (int, optional): master port (else ``MASTER_PORT``, else
            29500).
        init_backend (str): see :func:`init_from_env`.
        **kwargs: passed to ``init_process_group``.

    Returns:
        DistEnv: the environment that was used (also exported as ``RANK``,
        ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``).
    """
    return _init_dist('slurm', backend, init_backend, port, False, kwargs)


def init_dist_mpi(backend: Optional[str] = None,
                  init_backend: str = 'torch',
                  **kwargs) -> DistEnv:
    """Initialise the default process group from the Open MPI environment.

    Args and return value as :func:`init_dist_slurm` (no ``port``: it is
    ``MASTER_PORT`` or 29500).
    """
    return _init_dist('mpi', backend, init_backend, None, False, kwargs)


def shutdown_process_group() -> None:
    """Leave the default process group together, at interpreter exit.

    mmengine never destroys the group it creates. With gloo, a rank that
    leaves while its peer still holds the connection can abort (SIGABRT) in
    the group's destructor; a barrier followed by ``destroy_process_group``
    ends every rank cleanly. Registered with :mod:`atexit` by
    :func:`init_from_env`; does nothing when no group is left.
    """
    if not torch_dist.is_available() or not torch_dist.is_initialized():
        return
    try:
        if torch_dist.get_backend() == 'gloo':
            torch_dist.barrier()
        # Free what still holds the group (a DDP model's reducer, a runner
        # in a reference cycle) while the interpreter is fully alive: freed
        # during finalisation, gloo's pending work can no longer take the
        # GIL and the process aborts ("terminate called without an active
        # exception", seen once in ~50 two-rank runs).
        gc.collect()
        torch_dist.destroy_process_group()
    except Exception:  # a peer is already gone: nothing to coordinate
        pass


def _patched_init_dist_pytorch(backend='nccl',
                               init_backend='torch',
                               **kwargs) -> None:
    """mmcv_patches replacement of ``mmengine.dist.utils._init_dist_pytorch``.

    Upstream gap (mmengine 0.10.7): it calls ``torch.cuda.set_device`` even on
    CPU-only machines (fails there), keeps ``nccl`` without CUDA, ignores
    ``NNODES``/``NODE_RANK`` checks and any device-id offset, and fails with a
    bare ``KeyError`` on a half-set environment. No-op: with CUDA/NPU/MLU/
    MUSA visible and no ``DEVICE_ID_OFFSET`` it checks the environment and
    then runs the upstream function unchanged.
    """
    _init_dist('pytorch', backend, init_backend, None, True, kwargs)


def _patched_init_dist_slurm(backend='nccl',
                             port=None,
                             init_backend='torch',
                             **kwargs) -> None:
    """mmcv_patches replacement of ``mmengine.dist.utils._init_dist_slurm``.

    Upstream gap (mmengine 0.10.7): it calls ``torch.cuda.set_device`` on
    CPU-only and NPU machines (fails there), keeps ``nccl`` without CUDA,
    divides by the CUDA device count for the local rank
    (``ZeroDivisionError`` without CUDA and ``SLURM_LOCALID``), uses the
    shell's error text as ``MASTER_ADDR`` when ``scontrol`` is missing, has
    no device-id offset and fails with a bare ``KeyError`` on missing
    variables. No-op: on CUDA without ``DEVICE_ID_OFFSET`` it checks and
    exports the environment and then runs the upstream function.
    """
    _init_dist('slurm', backend, init_backend, port, True, kwargs)


def _patched_init_dist_mpi(backend='nccl', **kwargs) -> None:
    """mmcv_patches replacement of ``mmengine.dist.utils._init_dist_mpi``.

    Upstream gap (mmengine 0.10.7): it calls ``torch.cuda.set_device`` on
    CPU-only and NPU machines, keeps ``nccl`` without CUDA, has no device-id
    offset, fails with bare ``KeyError``\\ s, and does not set
    ``LOCAL_RANK``, which ``Runner.wrap_model`` reads. No-op: on CUDA
    without ``DEVICE_ID_OFFSET`` it checks and exports the environment (now
    with ``LOCAL_RANK``) and then runs the upstream function.
    """
    _init_dist('mpi', backend, 'torch', None, True, kwargs)


def _patch_launcher(launcher: str, new) -> bool:
    import mmengine.dist.utils as mm_dist_utils
    return replace_attr(mm_dist_utils, f'_init_dist_{launcher}', new)


@patch('dist.init_dist_pytorch')
def patch_init_dist():
    """Route ``init_dist('pytorch')`` through the device-aware path."""
    return _patch_launcher('pytorch', _patched_init_dist_pytorch) or \
        'already patched'


@patch('dist.init_dist_slurm')
def patch_init_dist_slurm():
    """Route ``init_dist('slurm')`` through the device-aware path."""
    return _patch_launcher('slurm', _patched_init_dist_slurm) or \
        'already patched'


@patch('dist.init_dist_mpi')
def patch_init_dist_mpi():
    """Route ``init_dist('mpi')`` through the device-aware path."""
    return _patch_launcher('mpi', _patched_init_dist_mpi) or \
        'already patched'
