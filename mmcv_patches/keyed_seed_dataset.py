"""``KeyedSeedDataset``: a sample's randomness from (seed, epoch, index)."""
from typing import Union

from mmengine.registry import DATASETS
from torch.utils.data import Dataset, get_worker_info

from .sample_key import SampleKey, keyed_rng

# attributes of the wrapper itself; everything else is the data set's
_OWN = frozenset(('dataset', ))


@DATASETS.register_module()
class KeyedSeedDataset(Dataset):
    """Run the wrapped data set's ``__getitem__`` under :func:`keyed_rng`.

    Indexed with a :class:`~mmcv_patches.sample_key.SampleKey` (what
    :class:`~mmcv_patches.keyed_sampler.KeyedSampler` yields), the pipeline
    -- and mmengine's retry with another random index after a failed image
    -- draws from ``random``, ``np.random`` and torch seeded by (seed,
    epoch, index). In the main process (``num_workers=0``) the process's
    own generator states are restored afterwards; a data worker's
    generators serve the pipeline only and are left as the sample left
    them (the next sample seeds them again). A plain ``int`` index passes
    straight through. Attribute reads and writes
    other than ``dataset`` go to the wrapped data set (``metainfo``,
    ``pipeline``, ``full_init``, ...), so hooks that inspect or switch the
    training data set keep working.

    Args:
        dataset (Dataset | dict): the data set or its config.
    """

    def __init__(self, dataset: Union[Dataset, dict]):
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        object.__setattr__(self, 'dataset', dataset)

    def __getitem__(self, idx):
        """Get sample ``idx``, under its keyed RNG when it is a SampleKey.

        Args:
            idx (SampleKey | int): what the sampler yielded.
        """
        if isinstance(idx, SampleKey):
            with keyed_rng(
                    idx.seed,
                    idx.epoch,
                    int(idx),
                    idx.repeat,
                    restore=get_worker_info() is None):
                return self.dataset[int(idx)]
        return self.dataset[idx]

    def __len__(self) -> int:
        """Length of the wrapped data set."""
        return len(self.dataset)

    def __getattr__(self, name):
        """Read any other attribute from the wrapped data set (no dunders)."""
        # only called when normal lookup fails; no dunders (pickle, copy)
        if name.startswith('__') or name in _OWN:
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __setattr__(self, name, value):
        """Set any attribute other than ``dataset`` on the wrapped data set."""
        if name in _OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self.dataset, name, value)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.dataset!r})'
