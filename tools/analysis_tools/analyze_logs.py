#!/usr/bin/env python
"""mmdet's stock ``tools/analysis_tools/analyze_logs.py`` with evaluation
metrics named ``<prefix>/<name>``, such as the WIDER Face metric's
``widerface/easy``, ``widerface/medium`` and ``widerface/hard``.

Usage (the stock tool's, every flag unchanged)::

    python tools/analysis_tools/analyze_logs.py plot_curve \
        work_dirs/RUN/TIMESTAMP/vis_data/scalars.json \
        --keys widerface/easy widerface/medium widerface/hard \
        --eval-interval 1 --out ap.png
    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json \
        --keys loss loss_landmark --out loss.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json

It runs ``mmdet/.mim/tools/analysis_tools/analyze_logs.py`` itself, with two
changes to how that script reads its input:

* its log reader keeps only the last part of a validation metric's name
  (``widerface/easy`` -> ``easy``); the full names are kept as well, so
  ``--keys widerface/hard`` is found;
* ``plot_curve`` plots a key per epoch (an evaluation metric) only if its
  name contains ``mAP`` (``coco/bbox_mAP``); every key with a ``/`` (an
  evaluation metric in mmengine's logs) is now plotted per epoch as well.

``--eval-interval`` is the stock one: the validation interval of the run
(the first epoch it looks for a metric in is that one).
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
                        log_dict.setdefault(epoch, defaultdict(list))[
                            key].append(value)
                if 'epoch' in log:
                    epoch = log['epoch']


def main() -> None:
    stock = load_stock_tool()
    load_json_logs, plot_curve = stock.load_json_logs, stock.plot_curve

    def load_with_full_names(json_logs):
        log_dicts = load_json_logs(json_logs)
        add_full_metric_names(json_logs, log_dicts)
        return log_dicts

    def plot_eval_metrics_per_epoch(log_dicts, args):
        args.keys = [
            EvalMetricKey(k) if '/' in k else k for k in args.keys
        ]
        return plot_curve(log_dicts, args)

    # the stock main() finds both through its module globals
    stock.load_json_logs = load_with_full_names
    stock.plot_curve = plot_eval_metrics_per_epoch
    stock.main()


if __name__ == '__main__':
    sys.exit(main())
