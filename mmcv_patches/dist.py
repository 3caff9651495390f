"""Device-aware distributed initialisation (CUDA / Ascend NPU / CPU).

One init path for ``--launcher pytorch`` (torchrun): it reads and checks the
launcher's environment, picks the device and the matching communication
backend (``nccl`` on CUDA, ``hccl`` on NPU, ``gloo`` on CPU), applies a
device-id offset and calls ``torch.distributed.init_process_group``.

Environment (set by ``torch.distributed.run`` / ``tools/dist_train.sh``):

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
                       host with offsets 0 and 4)
=====================  =====================================================
"""
import atexit
import logging
import os
from dataclasses import dataclass
from typing import Mapping, Optional

import torch
import torch.distributed as torch_dist

from ._patching import original, patch, replace_attr

REQUIRED_VARS = ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR',
                 'MASTER_PORT')
DEFAULT_BACKENDS = {
    'cuda': 'nccl',
    'npu': 'hccl',
    'mlu': 'cncl',
    'musa': 'mccl',
    'cpu': 'gloo'
}


class DistEnvError(RuntimeError):
    """The launcher environment is missing variables or is inconsistent."""


@dataclass
class DistEnv:
    """The torchrun environment of this process (see module docstring)."""
    rank: int
    local_rank: int
    world_size: int
    master_addr: str
    master_port: int
    nnodes: int = 1
    node_rank: int = 0
    local_world_size: int = 1
    device_id_offset: int = 0

    @property
    def device_id(self) -> int:
        """Accelerator index this process uses (int)."""
        return self.local_rank + self.device_id_offset


def _int_var(env: Mapping[str, str], name: str,
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


def read_dist_env(environ: Optional[Mapping[str, str]] = None) -> DistEnv:
    """Read and check the torchrun environment.

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
    missing = [k for k in REQUIRED_VARS if not env.get(k)]
    if missing:
        present = [k for k in REQUIRED_VARS if env.get(k)]
        raise DistEnvError(
            '--launcher pytorch needs the torchrun environment '
            f'({", ".join(REQUIRED_VARS)}); missing: {", ".join(missing)}'
            + (f' (set: {", ".join(present)})' if present else '') +
            '. Start the job with tools/dist_train.sh, tools/dist_test.sh '
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
    problems = []
    if world_size < 1:
        problems.append(f'WORLD_SIZE={world_size} < 1')
    if not 0 <= rank < world_size:
        problems.append(f'RANK={rank} not in [0, WORLD_SIZE={world_size})')
    if not 0 <= local_rank < local_world_size:
        problems.append(f'LOCAL_RANK={local_rank} not in '
                        f'[0, LOCAL_WORLD_SIZE={local_world_size})')
    if nnodes < 1 or not 0 <= node_rank < nnodes:
        problems.append(f'NODE_RANK={node_rank} not in [0, NNODES={nnodes})')
    if nnodes * local_world_size != world_size and 'LOCAL_WORLD_SIZE' in env:
        problems.append(f'NNODES={nnodes} x LOCAL_WORLD_SIZE='
                        f'{local_world_size} != WORLD_SIZE={world_size}')
    if offset < 0:
        problems.append(f'DEVICE_ID_OFFSET={offset} < 0')
    if problems:
        raise DistEnvError('inconsistent distributed environment: ' +
                           '; '.join(problems))
    return DistEnv(rank, local_rank, world_size, env['MASTER_ADDR'],
                   master_port, nnodes, node_rank, local_world_size, offset)


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
        f'{default!r}', logger='current', level=logging.WARNING)
    return default


def set_device(device: str, index: int) -> None:
    """Make accelerator ``index`` (int) current for ``device`` (str)."""
    if device == 'cpu':
        return
    if device == 'npu':
        import torch_npu  # noqa: F401
    elif device == 'mlu':
        import torch_mlu  # noqa: F401
    elif device == 'musa':
        import torch_musa  # noqa: F401
    mod = getattr(torch, device)
    count = mod.device_count()
    if index >= count:
        raise DistEnvError(
            f'this process needs {device}:{index} (LOCAL_RANK + '
            f'DEVICE_ID_OFFSET) but only {count} {device} devices are '
            'visible')
    mod.set_device(index)


def init_dist_pytorch(backend: Optional[str] = None,
                      init_backend: str = 'torch',
                      **kwargs) -> DistEnv:
    """Initialise the default process group from the torchrun environment.

    Args:
        backend (str, optional): requested backend, see
            :func:`select_backend`.
        init_backend (str): ``'torch'``; ``'deepspeed'`` / ``'colossalai'``
            are passed to mmengine's implementation after the device is set.
        **kwargs: passed to ``init_process_group`` (e.g. ``timeout``).

    Returns:
        DistEnv: the environment that was used.
    """
    env = read_dist_env()
    device = select_device()
    set_device(device, env.device_id)
    backend = select_backend(device, backend)
    if init_backend == 'torch':
        torch_dist.init_process_group(
            backend=backend,
            rank=env.rank,
            world_size=env.world_size,
            **kwargs)
        atexit.register(shutdown_process_group)
    else:
        import mmengine.dist.utils as mm_dist_utils
        original(mm_dist_utils._init_dist_pytorch)(
            backend, init_backend=init_backend, **kwargs)
    return env


def shutdown_process_group() -> None:
    """Leave the default process group together, at interpreter exit.

    mmengine never destroys the group it creates. With gloo, a rank that
    leaves while its peer still holds the connection can abort (SIGABRT) in
    the group's destructor; a barrier followed by ``destroy_process_group``
    ends every rank cleanly. Registered with :mod:`atexit` by
    :func:`init_dist_pytorch`; does nothing when no group is left.
    """
    if not torch_dist.is_available() or not torch_dist.is_initialized():
        return
    try:
        if torch_dist.get_backend() == 'gloo':
            torch_dist.barrier()
        torch_dist.destroy_process_group()
    except Exception:  # a peer is already gone: nothing to coordinate
        pass


def _patched_init_dist_pytorch(backend='nccl', init_backend='torch',
                               **kwargs) -> None:
    """mmcv_patches replacement of ``mmengine.dist.utils._init_dist_pytorch``.

    Upstream gap (mmengine 0.10.7): it calls ``torch.cuda.set_device`` even on
    CPU-only machines (fails there), keeps ``nccl`` without CUDA, ignores
    ``NNODES``/``NODE_RANK`` checks and any device-id offset, and fails with a
    bare ``KeyError`` on a half-set environment. No-op: with CUDA/NPU/MLU/
    MUSA visible and no ``DEVICE_ID_OFFSET`` it checks the environment and
    then runs the upstream function unchanged.
    """
    env = read_dist_env()
    device = select_device()
    if device != 'cpu' and env.device_id_offset == 0:
        import mmengine.dist.utils as mm_dist_utils
        return original(mm_dist_utils._init_dist_pytorch)(
            backend, init_backend=init_backend, **kwargs)
    init_dist_pytorch(backend, init_backend=init_backend, **kwargs)


@patch('dist.init_dist_pytorch')
def patch_init_dist():
    """Route ``init_dist('pytorch')`` through :func:`init_dist_pytorch`."""
    import mmengine.dist.utils as mm_dist_utils
    if not replace_attr(mm_dist_utils, '_init_dist_pytorch',
                        _patched_init_dist_pytorch):
        return 'already patched'
    return True
