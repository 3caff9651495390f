"""``ResumableBatchSampler``: start a pass after the batches already done."""
import itertools
from typing import Iterator, List, Optional

from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import BatchSampler, Sampler


@DATA_SAMPLERS.register_module()
class ResumableBatchSampler(Sampler):
    """A batch sampler whose next pass can begin at batch ``n``.

    :meth:`skip` makes the next ``iter()`` drop the first ``n`` batches of
    the wrapped batch sampler. Only indices are drawn for them (and, for
    mmdet's ``AspectRatioBatchSampler``, the image sizes it groups by): no
    image is read and no transform runs, so a resumed run continues with
    exactly the batches the interrupted one would have made next.

    Args:
        sampler (Sampler): the index sampler.
        batch_size (int): batch size.
        batch_sampler (dict, optional): config of the batch sampler to wrap
            (built with ``sampler`` and ``batch_size``); None uses torch's
            ``BatchSampler`` (what a ``DataLoader`` makes by itself).
        drop_last (bool): for torch's ``BatchSampler``. Defaults to False.
    """

    def __init__(self,
                 sampler: Sampler,
                 batch_size: int,
                 batch_sampler: Optional[dict] = None,
                 drop_last: bool = False):
        if batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        elif isinstance(batch_sampler, dict):
            batch_sampler = DATA_SAMPLERS.build(
                batch_sampler,
                default_args=dict(sampler=sampler, batch_size=batch_size))
        self.batch_sampler = batch_sampler
        self.sampler = sampler  # set_epoch is found here by mmengine
        self.batch_size = batch_size
        self._skip = 0

    def skip(self, num_batches: int) -> None:
        """Drop the first ``num_batches`` (int) batches of the next pass."""
        self._skip = int(num_batches)

    def __iter__(self) -> Iterator[List[int]]:
        """Yield the wrapped sampler's batches after the skipped ones.

        A generator: the skip belongs to the pass that draws first (torch's
        multi-process iterator calls ``iter()`` twice when it starts and
        advances only the second one).
        """
        skip, self._skip = self._skip, 0
        yield from itertools.islice(iter(self.batch_sampler), skip, None)

    def __len__(self) -> int:
        """Number of batches of a whole pass (skipped ones included)."""
        return len(self.batch_sampler)
