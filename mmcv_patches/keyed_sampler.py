"""``KeyedSampler``: a sampler whose indices carry their seed and epoch."""
import logging
from typing import Iterator, Union

from mmengine.dataset import InfiniteSampler
from mmengine.logging import print_log
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from .sample_key import SampleKey

#: Samplers whose ``set_epoch`` starts a finite pass over the data set.
BY_EPOCH = ('DefaultSampler', 'ClassAwareSampler', 'CustomSampleSizeSampler',
            'MultiDataSampler')


@DATA_SAMPLERS.register_module()
class KeyedSampler(Sampler):
    """Yield the wrapped sampler's indices as :class:`SampleKey` s.

    The order is the wrapped sampler's (``DefaultSampler``'s shuffle by seed
    and epoch, ...); each index gets the run's ``seed``, its epoch and how
    many times it was drawn before in the pass:

    * samplers of :data:`BY_EPOCH` (and their subclasses): the epoch of
      :meth:`set_epoch` (what the train loops and ``DistSamplerSeedHook``
      call before each pass);
    * ``InfiniteSampler``: the pass over the data set that the position
      belongs to in the sampler's global stream (rank ``r`` of ``W`` draws
      positions ``r, r + W, ...``), so it needs no ``set_epoch``.

    The key depends neither on the data worker nor, for a given index and
    epoch, on the rank or the number of ranks (unless the sampler repeats
    an index within a pass). Any other sampler (mmdet's
    ``MultiSourceSampler``, ``TrackImgSampler``, ...) has no known passes:
    its indices pass through unchanged, with a warning.

    Args:
        sampler (Sampler | dict): the sampler or its config (built with
            ``dataset`` and ``seed``).
        dataset (Dataset, optional): passed to a sampler config.
        seed (int): the run's seed. Defaults to 0.
    """

    def __init__(self,
                 sampler: Union[Sampler, dict],
                 dataset=None,
                 seed: int = 0):
        if isinstance(sampler, dict):
            sampler = DATA_SAMPLERS.build(
                sampler, default_args=dict(dataset=dataset, seed=seed))
        self.sampler = sampler
        self.seed = int(seed)
        self.epoch = 0
        self.infinite = isinstance(sampler, InfiniteSampler)
        names = {c.__name__ for c in type(sampler).__mro__}
        self.keyed = self.infinite or bool(names & set(BY_EPOCH))
        self._drawn = 0  # positions this rank drew (infinite samplers)
        if not self.keyed:
            print_log(
                f'KeyedSampler: {type(sampler).__name__} has no known passes '
                'over the data set; its samples keep mmengine\'s per-worker '
                'randomness (see docs/reproducibility.md)',
                logger='current',
                level=logging.WARNING)

    @property
    def dataset(self):
        """The wrapped sampler's data set (mmdet's batch samplers read
        ``sampler.dataset``)."""
        return self.sampler.dataset

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch of the next pass (int), here and in the sampler."""
        self.epoch = int(epoch)
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def set_seed(self, seed: int) -> None:
        """Use ``seed`` (int) for the keys and, when the sampler has a
        ``seed``, for its order (e.g. the seed a resumed run restored)."""
        self.seed = int(seed)
        if hasattr(self.sampler, 'seed'):
            self.sampler.seed = int(seed)

    def __iter__(self) -> Iterator[SampleKey]:
        """Iterate the sampler's indices as keys (plain indices if unkeyed)."""
        if not self.keyed:
            return iter(self.sampler)
        if self.infinite:
            return self._infinite()
        return self._finite(self.epoch, self.seed)

    def _finite(self, epoch: int, seed: int) -> Iterator[SampleKey]:
        """Key one pass of a by-epoch sampler.

        Args:
            epoch (int): The pass's epoch.
            seed (int): The run's seed.

        Yields:
            SampleKey: each index with ``epoch``, ``seed`` and how many times
            it was drawn before in this pass.
        """
        drawn = {}
        for i in self.sampler:
            repeat = drawn.get(i, 0)
            drawn[i] = repeat + 1
            yield SampleKey(i, epoch, seed, repeat)

    def _infinite(self) -> Iterator[SampleKey]:
        """Key an ``InfiniteSampler``'s stream by the pass of each position.

        Rank ``r`` of ``W`` draws global positions ``r, r + W, ...``; position
        ``p`` belongs to pass ``p // len(dataset)``.
        """
        # InfiniteSampler keeps one stream across iter() calls
        s = self.sampler
        for i in s:
            pos = s.rank + self._drawn * s.world_size
            self._drawn += 1
            yield SampleKey(i, pos // s.size, self.seed)

    def __len__(self) -> int:
        """Length of the wrapped sampler."""
        return len(self.sampler)
