#!/usr/bin/env python
"""mmdet's stock ``tools/analysis_tools/analyze_logs.py`` with evaluation
metrics named ``<prefix>/<name>``, such as the WIDER Face metric's
``widerface/easy``, ``widerface/medium`` and ``widerface/hard``.

Usage (the stock tool's, every flag unchanged)::

    python tools/analysis_tools/analyze_logs.py plot_curve \
        work_dirs/RUN/TIMESTAMP/vis_data/scalars.json \
        --keys widerface/easy widerface/medium widerface/hard --out ap.png
    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json \
        --keys loss loss_landmark --out loss.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json

It runs ``mmdet/.mim/tools/analysis_tools/analyze_logs.py`` itself, with
these changes to how that script reads its input:

* its log reader keeps only the last part of a validation metric's name
  (``widerface/easy`` -> ``easy``); the full names are kept as well, so
  ``--keys widerface/hard`` is found;
* ``plot_curve`` plots a key per epoch (an evaluation metric) only if its
  name contains ``mAP`` (``coco/bbox_mAP``); every key with a ``/`` (an
  evaluation metric in mmengine's logs) is now plotted per epoch as well;
* the stock ``plot_curve`` looks for a metric only in the epoch
  ``--eval-interval`` (1 by default) and fails when the run validated
  elsewhere (``make demo`` validates at epoch 12 only); a metric is now
  plotted at the epochs that hold it, whatever ``--eval-interval`` says,
  and one that no epoch holds is named in one line;
* a log of an iteration-based run (``IterBasedTrainLoop``: S3FD) has no
  epochs; its metrics are plotted against the iteration they were
  validated at: the ``step`` of the validation line where the run logged
  metrics by iteration (``default_hooks.logger.log_metric_by_epoch=False``,
  as the S3FD configs do), else the last training iteration logged
  before it (mmengine then logs step 0).

The stock script run on its own (``mim run mmdet analyze_logs``) has none
of these: there ``cal_train_time`` and ``plot_curve`` of the losses work,
``plot_curve --keys widerface/...`` does not.
"""
import importlib.util
import json
import os.path as osp
import sys
import types
from collections import defaultdict


def load_stock_tool() -> types.ModuleType:
    """mmdet's ``analyze_logs.py`` (shipped in ``mmdet/.mim/tools``) as a
    module, without importing mmdet (the tool needs neither torch nor
    mmdet)."""
    mmdet_dir = osp.dirname(importlib.util.find_spec('mmdet').origin)
    path = osp.join(mmdet_dir, '.mim', 'tools', 'analysis_tools',
                    'analyze_logs.py')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} is missing: install mmdet from its wheel/sdist so that '
            'mmdet/.mim/tools is present')
    module = types.ModuleType('_mmdet_stock_analyze_logs')
    module.__file__ = path
    with open(path) as f:
        exec(compile(f.read(), path, 'exec'), module.__dict__)
    return module


class EvalMetricKey(str):
    """A metric name that the stock ``plot_curve`` plots per epoch.

    The stock script decides by ``'mAP' in key``; this name answers yes to
    that question and is otherwise the plain string (same hash, equality,
    printing), so the legends and dictionary lookups are unchanged.
    """

    def __contains__(self, sub: object) -> bool:
        return sub == 'mAP' or str.__contains__(self, sub)


def add_full_metric_names(json_logs, log_dicts) -> None:
    """Add each validation metric under its full name (``widerface/easy``)
    to ``log_dicts``, at the epoch the stock reader files it under (that
    of the training line before it).

    Args:
        json_logs (list[str]): The JSON logs.
        log_dicts (list[dict]): The stock reader's ``{epoch: {key:
            [values]}}`` per log, updated in place.
    """
    for json_log, log_dict in zip(json_logs, log_dicts):
        epoch = 1
        with open(json_log) as f:
            for line in f:
                log = json.loads(line.strip())
                if not len(log) > 1:
                    continue
                for key, value in log.items():
                    if '/' in key:
                        log_dict.setdefault(
                            epoch, defaultdict(list))[key].append(value)
                if 'epoch' in log:
                    epoch = log['epoch']


def read_lines(json_log: str) -> list:
    """The records of a scalars.json log, each a dict (lines with one key
    left out, as the stock reader does)."""
    with open(json_log) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if len(r) > 1]


def split_at_validations(json_log: str) -> dict:
    """An iteration-based run's log in the stock reader's ``{epoch: {key:
    [values]}}`` layout, with one part per validation in place of an epoch:
    the training lines up to a validation and that validation's metrics,
    keyed by the iteration it ran at; the training lines after the last
    validation keyed by their last iteration.

    Args:
        json_log (str): The scalars.json of a run without epochs.

    Returns:
        dict: ``{iteration: {key: [values]}}`` in the log's order.
    """
    parts, part, last_step = {}, defaultdict(list), 0
    for log in read_lines(json_log):
        if not any('/' in k for k in log):
            for key, value in log.items():
                part[key].append(value)
            last_step = log.get('step', last_step)
            continue
        for key, value in log.items():
            if '/' in key:
                part[key].append(value)
                part[key.split('/')[-1]].append(value)
        # step 0: the metric was logged by epoch (the run's default)
        parts[log.get('step') or last_step] = part
        part = defaultdict(list)
    if part:
        parts[max(last_step, max(parts, default=0) + 1)] = part
    return parts


def plot_metrics_where_validated(log_dicts, args) -> bool:
    """Make the stock ``plot_curve`` find each evaluation metric of
    ``args.keys`` (keys with a ``/``) in every log.

    Logs without epochs are split at their validations
    (:func:`split_at_validations`); each metric is added, without values,
    to the epochs that do not hold it, so the stock check of the epoch
    ``--eval-interval`` passes and the curve has a point per validation.

    Args:
        log_dicts (list[dict]): The reader's logs, updated in place.
        args (argparse.Namespace): ``plot_curve``'s arguments.

    Returns:
        bool: Whether every log is of an iteration-based run (its x axis
        is the iteration).

    Raises:
        KeyError: A metric is in no line of a log.
    """
    by_iter = []
    for i, json_log in enumerate(args.json_logs):
        iteration_based = not any('epoch' in log_dicts[i][e]
                                  for e in log_dicts[i])
        if iteration_based:
            log_dicts[i] = split_at_validations(json_log)
        by_iter.append(iteration_based)
        for key in (k for k in args.keys if '/' in k):
            if not any(log_dicts[i][e].get(key) for e in log_dicts[i]):
                raise KeyError(
                    f'{json_log} has no {key}: no validation logged it '
                    '(was the run validated, with this metric?)')
            for epoch in log_dicts[i].values():
                epoch.setdefault(key, [])
    return all(by_iter)


class IterationAxis:
    """matplotlib.pyplot for the stock ``plot_curve``, with the x axis of
    the evaluation metrics named ``iter`` in place of ``epoch``."""

    def __init__(self, plt: types.ModuleType) -> None:
        self._plt = plt

    def __getattr__(self, name: str):
        return getattr(self._plt, name)

    def xlabel(self, label: str, *args, **kwargs):
        label = 'iter' if label == 'epoch' else label
        return self._plt.xlabel(label, *args, **kwargs)


def main() -> None:
    stock = load_stock_tool()
    load_json_logs, plot_curve = stock.load_json_logs, stock.plot_curve

    def load_with_full_names(json_logs):
        log_dicts = load_json_logs(json_logs)
        add_full_metric_names(json_logs, log_dicts)
        return log_dicts

    def plot_eval_metrics_per_epoch(log_dicts, args):
        by_iter = plot_metrics_where_validated(log_dicts, args)
        args.keys = [EvalMetricKey(k) if '/' in k else k for k in args.keys]
        plt = stock.plt
        if by_iter:
            stock.plt = IterationAxis(plt)
        try:
            return plot_curve(log_dicts, args)
        finally:
            stock.plt = plt

    # the stock main() finds both through its module globals
    stock.load_json_logs = load_with_full_names
    stock.plot_curve = plot_eval_metrics_per_epoch
    stock.main()


if __name__ == '__main__':
    sys.exit(main())
