"""Test helpers (not part of the runtime; mmdet keeps its own in
``mmdet/testing``).

* :mod:`.runs`: run ``tools/train.py`` / ``tools/test.py`` (or their
  ``dist_*.sh`` wrappers) in a subprocess for any config and read back what
  :class:`~mmcv_patches.hooks.DistributedCheckHook` and mmengine's logger
  wrote;
* :mod:`.hooks`: :class:`FaultInjectionHook` (kill after an iteration, inf
  gradients), for the resume and loss-scale tests.

Import from here: ``from tests.testing import run_tool, kill_and_resume``.
"""
from .hooks import FAULT_INJECTION_HOOK, FaultInjectionHook
from .runs import (DIST_CHECK_HOOK, REPO_ROOT, ToolResult,
                   assert_eval_gathered_once, assert_ranks_identical,
                   assert_trained_in_step, checkpoint_digest, expected_lrs,
                   flatten_cfg_options, free_port, kill_and_resume,
                   last_checkpoint, latest_run_dir, load_script, python_exe,
                   read_dist_checks, read_scalars, run_tool,
                   run_tool_in_process, tiny_run_options, widerface_options)

__all__ = [
    'FAULT_INJECTION_HOOK', 'FaultInjectionHook', 'DIST_CHECK_HOOK',
    'REPO_ROOT', 'ToolResult', 'assert_eval_gathered_once',
    'assert_ranks_identical', 'assert_trained_in_step', 'checkpoint_digest',
    'expected_lrs', 'flatten_cfg_options', 'free_port', 'kill_and_resume',
    'last_checkpoint', 'latest_run_dir', 'load_script', 'python_exe',
    'read_dist_checks', 'read_scalars', 'run_tool', 'run_tool_in_process',
    'tiny_run_options', 'widerface_options'
]
