"""Keyed randomness: random draws that depend on a key, not on a process.

A :class:`SampleKey` is a dataset index (an ``int``) that also carries the
seed and the epoch of its draw. :func:`keyed_rng` seeds Python's
``random``, NumPy's global ``np.random`` and torch's CPU generator from such
a key and gives the process its own states back afterwards; every random
transform of mmcv, mmdet and this project draws from those three, so a
sample's augmentation becomes a function of (seed, epoch, index) alone, in
whichever data worker, rank or process it is made. :func:`seed_iteration`
does the same for the main process at the start of each training iteration.
See ``docs/reproducibility.md``.
"""
import hashlib
import random
import struct
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
import torch

# Domain tags keep the streams of samples and iterations apart.
_SAMPLE_TAG = 0x5A4D
_ITER_TAG = 0x17E4


class SampleKey(int):
    """A dataset index carrying the ``epoch`` and ``seed`` of its draw.

    Anything that indexes with an ``int`` (lists, ``get_data_info``,
    mmdet's batch samplers) takes it unchanged; :class:`KeyedSeedDataset`
    reads the extra fields.

    Args:
        index (int): the dataset index.
        epoch (int): pass over the data set the draw belongs to.
        seed (int): the run's seed.
        repeat (int): how many times the sampler drew this index before in
            the same pass (class-balancing samplers repeat images), so that
            the repeats get their own augmentation. Defaults to 0.
    """

    def __new__(cls, index: int, epoch: int, seed: int, repeat: int = 0):
        key = super().__new__(cls, index)
        key.epoch = int(epoch)
        key.seed = int(seed)
        key.repeat = int(repeat)
        return key

    def __reduce__(self):
        return SampleKey, (int(self), self.epoch, self.seed, self.repeat)

    def __repr__(self) -> str:
        return (f'SampleKey({int(self)}, epoch={self.epoch}, seed={self.seed}'
                f', repeat={self.repeat})')


def key_words(words: Sequence[int]) -> np.ndarray:
    """Four well-mixed uint32 words (np.ndarray) from ints (BLAKE2b of
    the ints modulo 2**64; any change of any int changes every word)."""
    ints = [int(w) % (1 << 64) for w in words]
    packed = struct.pack(f'<{len(ints)}Q', *ints)
    digest = hashlib.blake2b(packed, digest_size=16).digest()
    return np.frombuffer(digest, dtype=np.uint32)


def seed_all(words: np.ndarray, accelerators: bool = False) -> None:
    """Seed ``random``, ``np.random`` and torch from :func:`key_words`.

    Args:
        words (np.ndarray): four uint32 words.
        accelerators (bool): also seed the CUDA / NPU / other accelerator
            generators (``torch.manual_seed``); False seeds the CPU
            generator only.
    """
    random.seed(int.from_bytes(words.tobytes(), 'little'))
    np.random.seed(words)
    seed64 = int(words[0]) | (int(words[1]) << 32)
    if accelerators:
        torch.manual_seed(seed64)
    else:
        torch.default_generator.manual_seed(seed64)


@contextmanager
def keyed_rng(seed: int,
              epoch: int,
              index: int,
              repeat: int = 0,
              restore: bool = True) -> Iterator[None]:
    """Draw from ``random``/``np.random``/torch (CPU) seeded by the key.

    Args:
        seed (int): the run's seed.
        epoch (int): the epoch.
        index (int): the dataset index.
        repeat (int): earlier draws of ``index`` in this pass. Defaults
            to 0.
        restore (bool): give the three generators their states from before
            the block back after it, so the caller's streams are not
            disturbed (saving and restoring NumPy's state is most of the
            cost). Defaults to True.
    """
    if restore:
        py_state = random.getstate()
        np_state = np.random.get_state()
        torch_state = torch.get_rng_state()
    seed_all(key_words((_SAMPLE_TAG, seed, epoch, index, repeat)))
    try:
        yield
    finally:
        if restore:
            random.setstate(py_state)
            np.random.set_state(np_state)
            torch.set_rng_state(torch_state)


def seed_iteration(seed: int, iteration: int) -> None:
    """Seed this process's generators (accelerators included) for a
    training iteration: (``seed``, ``iteration``) decides every draw the
    main process makes until the next call.

    Args:
        seed (int): the runner's seed.
        iteration (int): 0-based iteration about to run.
    """
    seed_all(key_words((_ITER_TAG, seed, iteration)), accelerators=True)
