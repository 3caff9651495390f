"""Exact, resumable training: keyed randomness and mid-epoch resume.

Patches (see ``docs/reproducibility.md``):

* ``reproducible.train_dataloader`` - ``Runner.build_train_loop`` builds the
  training data loader with :class:`KeyedSeedDataset`,
  :class:`KeyedSampler` and :class:`ResumableBatchSampler` around the
  configured data set, sampler and batch sampler.
* ``reproducible.epoch_loop`` - ``EpochBasedTrainLoop.run_epoch`` sets the
  sampler's epoch and seed itself, continues a resumed epoch at the next
  batch (skipping the done ones without loading them) and seeds the main
  process from (seed, iteration) before every iteration.
* ``reproducible.iter_loop`` - the same for ``IterBasedTrainLoop.run``
  (the position in the data stream instead of re-reading ``iter`` batches);
  its data loader iterator starts on the first batch, not when the loop is
  built (before resuming).

Switched by the config's ``reproducibility`` dict (``enable``, default
True); data loaders given as built objects and loops of other types keep
mmengine's behaviour.
"""
import copy
import logging

from ._patching import original, patch, replace_attr
from .keyed_sampler import KeyedSampler
from .keyed_seed_dataset import KeyedSeedDataset
from .resumable_batch_sampler import ResumableBatchSampler
from .sample_key import seed_iteration

#: Options of the config's ``reproducibility`` dict and their defaults.
DEFAULT_OPTIONS = dict(enable=True, resume_fallback=False)

#: Message hub key of the data geometry (saved in checkpoints).
GEOMETRY_KEY = 'reproducibility/train_data'


def reproducibility_options(cfg) -> dict:
    """The config's ``reproducibility`` options with defaults (dict).

    Args:
        cfg (Config | dict | None): the runner's config.

    Raises:
        ValueError: an unknown option (named).
    """
    given = dict((cfg or {}).get('reproducibility', None) or {})
    unknown = sorted(set(given) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ValueError(
            f'reproducibility: unknown option(s) {unknown}; known: '
            f'{sorted(DEFAULT_OPTIONS)}')
    return {**DEFAULT_OPTIONS, **given}


def keyed_dataloader_cfg(cfg: dict, seed: int) -> dict:
    """A training data loader config with keyed randomness.

    Args:
        cfg (dict): ``train_dataloader`` config (not modified).
        seed (int): the run's seed (rank-independent).

    Returns:
        dict: the same loader, its data set wrapped in
        :class:`KeyedSeedDataset`, its sampler in :class:`KeyedSampler` and
        its batch sampler (torch's by default) in
        :class:`ResumableBatchSampler`.
    """
    cfg = copy.copy(cfg)
    dataset = cfg.get('dataset')
    if isinstance(dataset, dict) and dataset.get('type') is KeyedSeedDataset:
        return cfg
    cfg['dataset'] = dict(type=KeyedSeedDataset, dataset=dataset)
    cfg['sampler'] = dict(
        type=KeyedSampler, sampler=cfg.get('sampler'), seed=seed)
    batch_sampler = cfg.get('batch_sampler')
    # drop_last belongs to torch's BatchSampler; next to a configured batch
    # sampler it stays where the DataLoader rejects it, as upstream
    cfg['batch_sampler'] = dict(
        type=ResumableBatchSampler,
        batch_sampler=batch_sampler,
        drop_last=False if batch_sampler else cfg.pop('drop_last', False))
    return cfg


def base_seed(runner) -> int:
    """The run's seed without the per-rank offset of ``diff_rank_seed``."""
    from mmengine.dist import get_rank
    seed = runner.seed
    if (runner._randomness_cfg or {}).get('diff_rank_seed', False):
        seed -= get_rank()
    return seed


def _log(msg: str, level=logging.INFO) -> None:
    from mmengine.logging import print_log
    print_log(msg, logger='current', level=level)


def _build_train_loop(self, loop):
    """mmcv_patches replacement of ``Runner.build_train_loop``.

    Upstream gap (mmengine 0.10.7): data workers are seeded with ``seed +
    worker_id + rank * num_workers`` each time they start, so a sample's
    augmentation depends on the worker that makes it and on how many there
    are, and a resumed run (or every epoch without persistent workers)
    replays the first epoch's random stream. Here the training data loader
    config becomes :func:`keyed_dataloader_cfg`, so the augmentation of a
    sample depends on (seed, epoch, index) only. No-op when
    ``reproducibility.enable`` is False, the loop is already built or the
    data loader is a built ``DataLoader``.
    """
    if isinstance(loop, dict) and isinstance(self._train_dataloader, dict) \
            and reproducibility_options(self.cfg)['enable']:
        self._train_dataloader = keyed_dataloader_cfg(self._train_dataloader,
                                                      base_seed(self))
    return original(_build_train_loop)(self, loop)


def _keyed_batches(loop):
    """The loop's :class:`ResumableBatchSampler`, or None."""
    batches = getattr(loop.dataloader, 'batch_sampler', None)
    return batches if isinstance(batches, ResumableBatchSampler) else None


def _check_geometry(loop, batches) -> bool:
    """Compare the data geometry with the resumed checkpoint's; store it.

    Returns:
        bool: False when a resumed checkpoint was written with another
        batch size, world size, data set size or number of batches (then
        its position cannot be continued exactly; a warning says why).
    """
    from mmengine.dist import get_world_size
    hub = loop.runner.message_hub
    geometry = dict(
        batches_per_epoch=len(loop.dataloader),
        batch_size=batches.batch_size,
        world_size=get_world_size(),
        dataset_size=len(loop.dataloader.dataset))
    saved = hub.get_info(GEOMETRY_KEY)
    hub.update_info(GEOMETRY_KEY, geometry)
    if saved is None or dict(saved) == geometry:
        return True
    _log(
        'reproducibility: the resumed checkpoint was written with training '
        f'data {dict(saved)}, this run has {geometry}: the samples and their '
        'order after resuming are not those the interrupted run would have '
        'seen', logging.WARNING)
    return False


def _enter_pass(loop, batches, epoch: int, start: int) -> None:
    """Position the data stream: ``epoch``, seed, ``start`` batches done."""
    sampler = batches.sampler
    if isinstance(sampler, KeyedSampler):
        sampler.set_seed(base_seed(loop.runner))
    if hasattr(sampler, 'set_epoch'):
        sampler.set_epoch(epoch)
    batches.skip(start)
    if start:
        _log(f'reproducibility: resuming at batch {start} of the data '
             f'stream (epoch {epoch}); the {start} batches before it are '
             'skipped without loading them')


def _run_epoch(self) -> None:
    """mmcv_patches replacement of ``EpochBasedTrainLoop.run_epoch``.

    Upstream gap: resumed from an iteration checkpoint, mmengine runs the
    interrupted epoch again from its first batch (the epoch then has too
    many iterations and sees some samples twice), and the sampler's epoch
    is only set if ``DistSamplerSeedHook`` is configured. Here the epoch
    continues at batch ``iter - epoch * len(dataloader)`` (the batches
    before it are skipped by the batch sampler, not loaded), the sampler
    gets the epoch and the resumed seed, and the main process is seeded
    from (seed, iteration) before each iteration (:func:`seed_iteration`),
    so nothing random in the model or the hooks depends on what happened
    before the resume. Upstream ``run_epoch`` for data loaders without
    :class:`ResumableBatchSampler`.
    """
    batches = _keyed_batches(self)
    if batches is None:
        return original(_run_epoch)(self)
    self.runner.call_hook('before_train_epoch')
    self.runner.model.train()
    num_batches = len(self.dataloader)
    start = self._iter - self._epoch * num_batches
    exact = _check_geometry(self, batches)
    if not 0 <= start <= num_batches:
        if exact:
            _log(
                f'reproducibility: iteration {self._iter} is not in epoch '
                f'{self._epoch} of {num_batches} batches; starting the '
                'epoch at its first batch', logging.WARNING)
        start = 0
    _enter_pass(self, batches, self._epoch, start)
    if start < num_batches:
        for idx, data_batch in enumerate(self.dataloader, start):
            seed_iteration(self.runner.seed, self._iter)
            self.run_iter(idx, data_batch)
    self.runner.call_hook('after_train_epoch')
    self._epoch += 1


def _run_iter_based(self):
    """mmcv_patches replacement of ``IterBasedTrainLoop.run``.

    Upstream gap: a resumed run reads (loads and transforms) all ``iter``
    batches already trained on to skip them, and the data stream restarts
    at epoch 0 of the sampler. Here the stream is positioned directly: for
    ``InfiniteSampler`` after ``iter`` batches of its stream, otherwise in
    epoch ``iter // len(dataloader)`` at batch ``iter % len(dataloader)``
    (only indices are drawn for the skipped batches). Each iteration
    seeds the main process from (seed, iteration). Upstream ``run`` for
    data loaders without :class:`ResumableBatchSampler`. The rest is
    upstream's loop, unchanged.
    """
    batches = _keyed_batches(self)
    if batches is None:
        return original(_run_iter_based)(self)
    self.runner.call_hook('before_train')
    self.runner.call_hook('before_train_epoch')
    _check_geometry(self, batches)
    sampler = batches.sampler
    if getattr(sampler, 'infinite', False):
        epoch, start = 0, self._iter
    else:
        epoch, start = divmod(self._iter, len(self.dataloader))
    self.dataloader_iterator._epoch = epoch
    _enter_pass(self, batches, epoch, start)
    while self._iter < self._max_iters and not self.stop_training:
        self.runner.model.train()

        data_batch = next(self.dataloader_iterator)
        seed_iteration(self.runner.seed, self._iter)
        self.run_iter(data_batch)

        self._decide_current_val_interval()
        if (self.runner.val_loop is not None and self._iter >= self.val_begin
                and (self._iter % self.val_interval == 0
                     or self._iter == self._max_iters)):
            self.runner.val_loop.run()

    self.runner.call_hook('after_train_epoch')
    self.runner.call_hook('after_train')
    return self.runner.model


def _lazy_iterator_class():
    from mmengine.runner.loops import _InfiniteDataloaderIterator

    class LazyInfiniteDataloaderIterator(_InfiniteDataloaderIterator):
        """mmengine's infinite iterator, started by the first ``next``.

        Upstream starts the data loader (workers, prefetching) when the
        loop is built, before a checkpoint is resumed, so the position of
        the stream cannot be set any more.
        """

        def __init__(self, dataloader):
            self._dataloader = dataloader
            self._iterator = None
            self._epoch = 0

        def __next__(self):
            if self._iterator is None:
                self._iterator = iter(self._dataloader)
            return super().__next__()

    return LazyInfiniteDataloaderIterator


@patch('reproducible.train_dataloader')
def patch_train_dataloader():
    """Install :func:`_build_train_loop` on ``Runner``."""
    from mmengine.runner import Runner
    return replace_attr(Runner, 'build_train_loop', _build_train_loop) or \
        'already patched'


@patch('reproducible.epoch_loop')
def patch_epoch_loop():
    """Install :func:`_run_epoch` on ``EpochBasedTrainLoop``."""
    from mmengine.runner import EpochBasedTrainLoop
    return replace_attr(EpochBasedTrainLoop, 'run_epoch', _run_epoch) or \
        'already patched'


@patch('reproducible.iter_loop')
def patch_iter_loop():
    """Install :func:`_run_iter_based` on ``IterBasedTrainLoop`` and a lazy
    ``_InfiniteDataloaderIterator``."""
    from mmengine.runner import IterBasedTrainLoop, loops
    if hasattr(loops._InfiniteDataloaderIterator, '__mmcv_patches_lazy__'):
        return 'already patched'
    lazy = _lazy_iterator_class()
    lazy.__mmcv_patches_lazy__ = True
    loops._InfiniteDataloaderIterator = lazy
    replace_attr(IterBasedTrainLoop, 'run', _run_iter_based)
    return True
