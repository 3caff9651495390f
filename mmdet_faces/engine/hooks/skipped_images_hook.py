# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Count and name the training images skipped as unreadable."""
import json
import logging
import os
import os.path as osp
import shutil
import tempfile
from collections import OrderedDict
from typing import List, Optional

from mmdet.registry import HOOKS
from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ...datasets.skipped_images import (SKIPPED_IMAGES_DIR_ENV,
                                        read_skipped_images)
from ...datasets.transforms.loading import read_image

__all__ = ['SkippedImagesHook', 'NoReadableImageError']


class NoReadableImageError(RuntimeError):
    """No image of the training set can be read."""


@HOOKS.register_module()
class SkippedImagesHook(Hook):
    """Count and name the training images skipped as unreadable.

    Training images that ``LoadFaceImage(ignore_empty=True)`` cannot read
    (missing, empty, corrupt) are skipped, and another image is drawn. This
    hook

    * before training, stops with one :class:`NoReadableImageError` when no
      image of the training set can be read (it reads images until one
      decodes: a single read when the data is fine);
    * at the end of every epoch (an iteration-based loop: every
      ``interval`` iterations and at the end), gathers on rank 0 what every
      data-loader worker of every rank skipped, logs the count and the
      images, and writes them all to ``<work_dir>/skipped_images.json``
      (``[{"epoch" | "iters", "skipped", "images": [{"path", "count",
      "error"}]}]``, one entry per report that skipped any).

    Args:
        interval (int): Iterations between two reports of an
            iteration-based loop. Defaults to 1000.
        max_named (int): Images named in a log line (all are in the
            file). Defaults to 10.
        check_readable (bool): Check before training that some image can
            be read. Defaults to True.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 1000,
                 max_named: int = 10,
                 check_readable: bool = True) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = int(interval)
        self.max_named = int(max_named)
        self.check_readable = check_readable
        self._dir: Optional[str] = None
        self._offsets: dict = {}
        self._history: List[dict] = []
        self._last_iter = 0

    # --------------------------------------------------------------- stages
    def before_train(self, runner) -> None:
        """Start recording (the workers inherit the environment) and check
        that some training image can be read."""
        if self.check_readable:
            self._check_readable(runner.train_loop.dataloader.dataset)
        self._dir = tempfile.mkdtemp(prefix='mmdet_faces_skipped_')
        os.environ[SKIPPED_IMAGES_DIR_ENV] = self._dir
        self._offsets, self._history = {}, []
        self._last_iter = runner.iter

    def after_train_epoch(self, runner) -> None:
        """Report what the epoch skipped (epoch-based loops)."""
        self._report(runner, dict(epoch=runner.epoch + 1))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Report every ``interval`` iterations (iteration-based loops)."""
        if not runner.train_loop.__class__.__name__.startswith('Epoch') and \
                self.every_n_train_iters(runner, self.interval):
            self._report_iters(runner)

    def after_train(self, runner) -> None:
        """Report the iterations since the last report (iteration-based)."""
        if not runner.train_loop.__class__.__name__.startswith('Epoch') and \
                runner.iter > self._last_iter:
            self._report_iters(runner)

    def after_run(self, runner) -> None:
        """Stop recording: unset the environment and remove the records."""
        if self._dir is not None:
            if os.environ.get(SKIPPED_IMAGES_DIR_ENV) == self._dir:
                del os.environ[SKIPPED_IMAGES_DIR_ENV]
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # -------------------------------------------------------------- helpers
    @staticmethod
    def _check_readable(dataset) -> None:
        """Raise :class:`NoReadableImageError` when no image of ``dataset``
        (``get_data_info(i)['img_path']``) can be read."""
        backend_args = getattr(dataset, 'backend_args', None)
        seen, examples = set(), []
        for i in range(len(dataset)):
            path = dataset.get_data_info(i)['img_path']
            if path in seen:
                continue
            seen.add(path)
            try:
                read_image(path, backend_args)
                return
            except (OSError, ValueError) as e:
                if len(examples) < 3:
                    examples.append(str(e))
        if seen:
            raise NoReadableImageError(
                f'none of the {len(seen)} training images can be read (e.g. '
                f'{"; ".join(examples)}): check the data set\'s data_root '
                'and data_prefix')

    def _report_iters(self, runner) -> None:
        """Report the iterations since the last report and move the mark."""
        self._report(runner, dict(iters=[self._last_iter + 1, runner.iter]))
        self._last_iter = runner.iter

    def _report(self, runner, when: dict) -> None:
        """Gather the new records of every rank; rank 0 logs and writes."""
        if self._dir is None:
            return
        records = read_skipped_images(self._dir, self._offsets)
        gathered = all_gather_object(records)
        if not is_main_process():
            return
        images: 'OrderedDict[str, dict]' = OrderedDict()
        for rec in (r for rank in gathered for r in rank):
            info = images.setdefault(rec['path'], dict(count=0))
            info['count'] += 1
            info['error'] = rec['error']
        if not images:
            return
        total = sum(v['count'] for v in images.values())
        self._history.append(
            dict(
                when,
                skipped=total,
                images=[dict(path=k, **v) for k, v in images.items()]))
        out = osp.join(runner.work_dir, 'skipped_images.json')
        tmp = out + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self._history, f, indent=1)
        os.replace(tmp, out)
        named = ', '.join(f'{k} (x{v["count"]})' if v['count'] > 1 else k
                          for k in list(images)[:self.max_named]
                          for v in (images[k], ))
        more = len(images) - self.max_named
        where = (f'epoch {when["epoch"]}' if 'epoch' in when else
                 'iterations {}-{}'.format(*when['iters']))
        print_log(
            f'{where}: skipped {total} loads of unreadable training images '
            f'({len(images)} images): {named}' +
            (f' and {more} more' if more > 0 else '') +
            f'; all listed in {out}',
            logger='current',
            level=logging.WARNING)
