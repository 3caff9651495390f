"""A hook that injects faults into training, for the resume and loss-scale
tests.

Registered in mmengine's ``HOOKS`` under ``FaultInjectionHook`` when this
module is imported (in-process runners); a training subprocess builds it
from its import path :data:`FAULT_INJECTION_HOOK` (mmengine's registries
import a dotted ``type``), so configs need no ``custom_imports`` for it.
"""
import logging
import os
import signal
import sys
from typing import Optional, Sequence

import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

#: ``type`` of :class:`FaultInjectionHook` in a config run by a subprocess
#: whose ``PYTHONPATH`` holds the repository root.
FAULT_INJECTION_HOOK = 'tests.testing.hooks.FaultInjectionHook'


@HOOKS.register_module()
class FaultInjectionHook(Hook):
    """Inject faults into training, to test resuming and loss scaling.

    Args:
        kill_after_iter (int, optional): after this (1-based) iteration and
            after the checkpoint hook ran, SIGKILL the process (rank
            ``kill_rank`` or all ranks if None).
        inf_grad_iters (Sequence[int]): 1-based iterations in which the
            gradient of the first trainable parameter becomes ``inf``.
        kill_rank (int, optional): rank to kill. Defaults to None (all).
    """
    priority = 'LOWEST'

    def __init__(self,
                 kill_after_iter: Optional[int] = None,
                 inf_grad_iters: Sequence[int] = (),
                 kill_rank: Optional[int] = None):
        self.kill_after_iter = kill_after_iter
        self.inf_grad_iters = set(int(i) for i in inf_grad_iters)
        self.kill_rank = kill_rank
        self._handle = None

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        """Make the first trainable parameter's gradient ``inf`` in the
        iterations of ``inf_grad_iters``."""
        if runner.iter + 1 in self.inf_grad_iters:
            model = runner.model
            if is_model_wrapper(model):
                model = model.module
            param = next(p for p in model.parameters() if p.requires_grad)
            self._handle = param.register_hook(
                lambda g: torch.full_like(g, float('inf')))
            print_log(
                f'FaultInjectionHook: inf gradient injected in iter '
                f'{runner.iter + 1}',
                logger='current',
                level=logging.WARNING)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        """Remove the gradient hook; SIGKILL after ``kill_after_iter``."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if self.kill_after_iter is not None and \
                runner.iter + 1 == self.kill_after_iter and \
                self.kill_rank in (None, get_dist_info()[0]):
            print_log(
                f'FaultInjectionHook: killing rank {get_dist_info()[0]} '
                f'after iter {runner.iter + 1}',
                logger='current',
                level=logging.WARNING)
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            os.kill(os.getpid(), signal.SIGKILL)
