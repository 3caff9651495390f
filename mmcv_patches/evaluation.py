"""Patches of mmengine's evaluation: check before the loop, keep outputs.

* ``evaluation.check_metric_inputs``: when a ``ValLoop`` / ``TestLoop`` is
  built, every metric with a ``check_dataset(dataset)`` method sees the
  loop's dataset, so inputs that do not fit it (e.g. a ground truth of other
  images) fail before inference, not after it.
* ``evaluation.evaluate_every_metric``: a metric that fails in
  ``Evaluator.evaluate`` no longer stops the metrics after it (mmdet's
  ``tools/test.py --out`` appends ``DumpDetResults`` last): every metric
  runs, on every rank, and then the first failure is raised.
"""
import logging

from ._patching import original, patch, replace_attr

# key of the metrics dict that carries a failure from rank 0 to all ranks
_FAILED = '__mmcv_patches_metric_failed__'


class MetricInputError(ValueError):
    """A metric's inputs do not fit the loop's dataset (raised before the
    loop; ``tools/train.py`` / ``test.py`` print it in one line)."""


def check_metric_inputs(loop) -> None:
    """Call ``metric.check_dataset(dataset)`` for every metric of ``loop``
    that has it (``loop``: a built ``ValLoop`` / ``TestLoop``); its
    ``ValueError`` / ``OSError`` becomes a :class:`MetricInputError` with
    the same message."""
    dataset = loop.dataloader.dataset
    for metric in loop.evaluator.metrics:
        check = getattr(metric, 'check_dataset', None)
        if callable(check):
            try:
                check(dataset)
            except (ValueError, OSError) as e:
                raise MetricInputError(str(e)) from e


def _loop_init(cls_name: str):
    """A replacement of ``<cls_name>.__init__`` that checks the metrics'
    inputs once the loop is built."""

    def __init__(self, *args, **kwargs):
        from mmengine.runner import loops
        original(getattr(loops, cls_name).__dict__['__init__'])(self, *args,
                                                                **kwargs)
        check_metric_inputs(self)

    __init__.__qualname__ = f'{cls_name}.__init__'
    return __init__


_VAL_INIT = _loop_init('ValLoop')
_TEST_INIT = _loop_init('TestLoop')


@patch('evaluation.check_metric_inputs')
def patch_check_metric_inputs():
    """Install the checking ``__init__`` on ``ValLoop`` and ``TestLoop``.

    Upstream gap: mmengine shows a metric only ``dataset.metainfo``, so a
    metric whose inputs do not fit the data (WIDER Face ground truth of other
    images) fails after the whole inference.
    """
    from mmengine.runner.loops import TestLoop, ValLoop
    changed = replace_attr(ValLoop, '__init__', _VAL_INIT)
    changed |= replace_attr(TestLoop, '__init__', _TEST_INIT)
    return changed or 'already patched'


def _guarded(metric, failures: list):
    """``metric.compute_metrics`` returning ``{_FAILED: message}`` instead of
    raising (the failure goes to ``failures``), so that mmengine still
    broadcasts a result to every rank."""
    compute = metric.compute_metrics

    def compute_metrics(results):
        try:
            return compute(results)
        except Exception as e:  # noqa: BLE001  (re-raised by the caller)
            failures.append(e)
            return {_FAILED: f'{type(e).__name__}: {e}'}

    return compute_metrics


def _evaluate(self, size: int) -> dict:
    """mmcv_patches replacement of ``Evaluator.evaluate``: as upstream, but
    a failing metric does not stop the ones after it; the first failure is
    raised after all of them ran (on every rank)."""
    from mmengine.logging import print_log
    metrics, failed = {}, []
    for metric in self.metrics:
        failures = []
        own = metric.__dict__.get('compute_metrics')
        metric.compute_metrics = _guarded(metric, failures)
        try:
            results = metric.evaluate(size)
        except Exception as e:  # noqa: BLE001  (re-raised below)
            failures.append(e)
            results = {_FAILED: f'{type(e).__name__}: {e}'}
        finally:
            if own is None:
                del metric.compute_metrics
            else:
                metric.compute_metrics = own
        message = next(
            (v for k, v in (results or {}).items() if k.endswith(_FAILED)),
            None)
        if message is not None:
            failed.append(failures[0] if failures else RuntimeError(message))
            print_log(
                f'{type(metric).__name__} failed ({message}); the other '
                'metrics still run, so their outputs are written',
                logger='current',
                level=logging.ERROR)
            continue
        for name in results.keys():
            if name in metrics:
                raise ValueError(
                    'There are multiple evaluation results with the same '
                    f'metric name {name}. Please make sure all metrics '
                    'have different prefixes.')
        metrics.update(results)
    if failed:
        raise failed[0]
    return metrics


@patch('evaluation.evaluate_every_metric')
def patch_evaluate_every_metric():
    """Install :func:`_evaluate` as ``Evaluator.evaluate``.

    Upstream gap: ``Evaluator.evaluate`` stops at the first metric that
    raises, so ``tools/test.py --out`` (``DumpDetResults``, appended last)
    writes nothing when the metric before it fails: the whole run is lost.
    """
    from mmengine.evaluator import Evaluator
    return replace_attr(Evaluator, 'evaluate', _evaluate) or \
        'already patched'
