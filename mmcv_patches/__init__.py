"""mmcv_patches: device-aware training for mmengine/mmdet by import.

Importing this package (``custom_imports=dict(imports=['mmdet_faces',
'mmcv_patches'])`` or ``import mmcv_patches``) registers

* ``MODEL_WRAPPERS``: ``DeviceDistributedDataParallel``
* ``OPTIM_WRAPPERS``: ``MixedPrecisionOptimWrapper``
* ``OPTIM_WRAPPER_CONSTRUCTORS``: ``DeviceOptimWrapperConstructor``
* ``OPTIMIZERS``: apex / torch_npu fused optimizers when installed
* ``HOOKS``: ``DistributedCheckHook``
* ``DATASETS``: ``KeyedSeedDataset``; ``DATA_SAMPLERS``: ``KeyedSampler``,
  ``ResumableBatchSampler`` (keyed randomness, exact resume; see
  ``docs/reproducibility.md``)

makes mmcv's ``nms`` and sigmoid focal loss run on any device
(:mod:`mmcv_patches.ops`: pure-torch ops where mmcv has no kernel, and an
``mmcv._ext`` stand-in for mmcv-lite) and applies the patches listed by
:func:`patch_report` once per process;
each is a no-op where upstream already does the right thing (see
``docs/mmcv_patches.md``). :func:`applied_patches` lists the ones that
changed something in this process.
"""
# isort: off
# ops first: with mmcv-lite its stand-in must precede any mmcv.ops import
from . import ops  # noqa: F401
from . import checkpoint, checkpoint_io, compat, dist  # noqa: F401
from . import evaluation, inferencer, reference_checkpoints  # noqa: F401
from . import reproducible, runner  # noqa: F401
# isort: on
from ._patching import applied_patches, apply_all, patch_report
from .amp import LossScaler, MixedPrecisionOptimWrapper, convert_model_o2
from .checkpoint import (CheckpointLoadError, CheckpointNotFoundError,
                         UnsafeCheckpointError, safe_load)
from .checkpoint_io import CheckpointError, atomic_write, checkpoint_problem
from .dist import (DistEnv, DistEnvError, init_dist_pytorch, read_dist_env,
                   select_backend, select_device)
from .evaluation import MetricInputError
from .hooks import DistributedCheckHook
from .keyed_sampler import KeyedSampler
from .keyed_seed_dataset import KeyedSeedDataset
from .model_wrapper import DeviceDistributedDataParallel
from .ops import TorchOpsExt, fallback_calls
from .optimizers import (DeviceOptimWrapperConstructor, get_apex,
                         resolve_fused_optimizer)
from .reference_checkpoints import ReferenceCheckpointError
from .reproducible import reproducibility_options
from .resumable_batch_sampler import ResumableBatchSampler
from .sample_key import SampleKey, keyed_rng, seed_iteration

apply_all()

__all__ = [
    'apply_all', 'applied_patches', 'patch_report', 'CheckpointLoadError',
    'CheckpointNotFoundError', 'UnsafeCheckpointError', 'safe_load',
    'MetricInputError', 'ReferenceCheckpointError', 'LossScaler',
    'MixedPrecisionOptimWrapper', 'convert_model_o2', 'DistEnv',
    'DistEnvError', 'init_dist_pytorch', 'read_dist_env', 'select_backend',
    'select_device', 'DeviceDistributedDataParallel',
    'DeviceOptimWrapperConstructor', 'get_apex', 'resolve_fused_optimizer',
    'DistributedCheckHook', 'CheckpointError', 'atomic_write',
    'checkpoint_problem', 'KeyedSampler', 'KeyedSeedDataset',
    'reproducibility_options', 'ResumableBatchSampler', 'SampleKey',
    'keyed_rng', 'seed_iteration', 'TorchOpsExt', 'fallback_calls'
]
