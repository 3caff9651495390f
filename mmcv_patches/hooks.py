"""Hooks for checking distributed training (``HOOKS``).

:class:`DistributedCheckHook` hashes the model state on every rank, compares
the hashes across ranks and records how validation results were gathered;
it writes ``dist_check_rank<R>.json`` into the work dir. It can be added
without editing a config:
``--cfg-options default_hooks.dist_check.type=DistributedCheckHook``.
(The tests' fault-injection hook is ``tests/testing/hooks.py``.)
"""
import hashlib
import json
import logging
import os.path as osp

import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def state_dict_digest(state_dict: dict) -> str:
    """sha256 of a state dict's names, dtypes, shapes and bytes (str).

    Args:
        state_dict (dict[str, Tensor]): e.g. ``model.state_dict()`` or a
            checkpoint's ``state_dict``.
    """
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name]
        if not isinstance(t, torch.Tensor):
            continue
        t = t.detach().cpu().contiguous()
        h.update(f'{name}|{t.dtype}|{tuple(t.shape)}|'.encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _bare(model):
    """The model inside a DDP (or other) wrapper, else ``model``."""
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class DistributedCheckHook(Hook):
    """Check that all ranks hold the same weights; record eval gathering.

    Records, per rank, into ``<work_dir>/dist_check_rank<R>.json``:
    ``hashes`` (stage -> hash of the parameters (and buffers); stages
    ``before_train`` (after loading/resuming), ``iter_<N>`` every
    ``interval`` iterations, ``after_train``), ``equal`` (stage -> whether
    all ranks agree), and ``evals``: for each val/test epoch the samples
    this rank ran (``samples``), the sizes of the result lists each metric's
    ``compute_metrics`` was called with on this rank (``compute_sizes``;
    mmengine gathers the results and computes on rank 0 only) and the
    returned ``metrics``.

    Args:
        interval (int): also check every ``interval`` training iterations;
            0 checks only before and after training. Defaults to 0.
        strict (bool): raise ``RuntimeError`` when ranks differ (else log a
            warning). Defaults to True.
        buffers (bool): hash buffers too. Off by default: with mmengine's
            ``broadcast_buffers=False`` BatchNorm running statistics are
            per rank by design (SyncBN or ``broadcast_buffers=True`` make
            them equal).
        out_file (str): file name pattern in the work dir.
    """
    priority = 'LOWEST'

    def __init__(self,
                 interval: int = 0,
                 strict: bool = True,
                 buffers: bool = False,
                 out_file: str = 'dist_check_rank{rank}.json'):
        self.interval = interval
        self.strict = strict
        self.buffers = buffers
        self.out_file = out_file
        self.record = dict(hashes={}, equal={}, evals=[])

    def _dump(self, runner) -> None:
        """Write the record of this rank to its JSON file in the work dir.

        Args:
            runner (Runner): the runner, for its ``work_dir``.
        """
        rank, world_size = get_dist_info()
        self.record.update(rank=rank, world_size=world_size)
        path = osp.join(runner.work_dir, self.out_file.format(rank=rank))
        with open(path, 'w') as f:
            json.dump(self.record, f, indent=1, sort_keys=True)

    def check(self, runner, stage: str) -> bool:
        """Hash the model on every rank and compare (collective call).

        Args:
            runner (Runner): the runner.
            stage (str): label stored with the hash.

        Returns:
            bool: True when all ranks hold identical weights.
        """
        model = _bare(runner.model)
        state = model.state_dict() if self.buffers else dict(
            model.named_parameters())
        digest = state_dict_digest(state)
        digests = all_gather_object(digest)
        equal = len(set(digests)) == 1
        self.record['hashes'][stage] = digest
        self.record['equal'][stage] = equal
        self._dump(runner)
        if not equal:
            msg = (f'DistributedCheckHook: model weights differ across '
                   f'ranks at {stage}: {digests}')
            if self.strict:
                raise RuntimeError(msg)
            print_log(msg, logger='current', level=logging.WARNING)
        else:
            print_log(
                f'DistributedCheckHook: {len(digests)} rank(s) hold '
                f'identical weights at {stage} ({digest[:12]})',
                logger='current')
        return equal

    def before_train(self, runner) -> None:
        """Check the weights after loading or resuming (``before_train``)."""
        self.check(runner, 'before_train')

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        """Check the weights every ``interval`` iterations (``iter_<N>``)."""
        if self.interval and self.every_n_train_iters(runner, self.interval):
            self.check(runner, f'iter_{runner.iter + 1}')

    def after_train(self, runner) -> None:
        """Check the weights at the end of training (``after_train``)."""
        self.check(runner, 'after_train')

    # ------------------------------------------------------------ eval
    def _instrument(self, runner, evaluator, mode: str) -> None:
        """Open an eval record and wrap each metric's ``compute_metrics``.

        The wrapper records the length of the result list the metric is called
        with on this rank (``compute_sizes``); wrapping again reuses the
        original method, so the sizes are not counted twice.

        Args:
            runner (Runner): the runner, for the epoch and iteration.
            evaluator (Evaluator): the val or test evaluator.
            mode (str): ``'val'`` or ``'test'``.
        """
        entry = dict(
            mode=mode,
            epoch=runner.epoch,
            iter=runner.iter,
            samples=0,
            compute_sizes=[],
            metrics=None)
        self.record['evals'].append(entry)
        for metric in getattr(evaluator, 'metrics', []):
            fn = getattr(metric, '_dist_check_orig_compute', None) or \
                metric.compute_metrics
            metric._dist_check_orig_compute = fn

            def compute(results, _fn=fn, _entry=entry):
                _entry['compute_sizes'].append(len(results))
                return _fn(results)

            metric.compute_metrics = compute

    def _count(self, outputs) -> None:
        """Add the number of ``outputs`` of an eval iteration to the record."""
        if self.record['evals'] and outputs is not None:
            self.record['evals'][-1]['samples'] += len(outputs)

    def _finish(self, runner, metrics) -> None:
        """Store the returned ``metrics`` (as floats or strings) and dump.

        Args:
            runner (Runner): the runner.
            metrics (dict, optional): what the evaluator returned.
        """
        if self.record['evals']:
            self.record['evals'][-1]['metrics'] = {
                k: (float(v) if isinstance(v, (int, float)) else str(v))
                for k, v in (metrics or {}).items()
            }
        self._dump(runner)

    def before_val_epoch(self, runner) -> None:
        """Start recording a validation epoch."""
        self._instrument(runner, runner.val_evaluator, 'val')

    def after_val_iter(self,
                       runner,
                       batch_idx,
                       data_batch=None,
                       outputs=None) -> None:
        """Count the samples this rank validated."""
        self._count(outputs)

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Record the validation metrics."""
        self._finish(runner, metrics)

    def before_test_epoch(self, runner) -> None:
        """Start recording a test epoch."""
        self._instrument(runner, runner.test_evaluator, 'test')

    def after_test_iter(self,
                        runner,
                        batch_idx,
                        data_batch=None,
                        outputs=None) -> None:
        """Count the samples this rank tested."""
        self._count(outputs)

    def after_test_epoch(self, runner, metrics=None) -> None:
        """Record the test metrics."""
        self._finish(runner, metrics)
