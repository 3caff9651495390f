"""Keyed randomness and exact mid-epoch resume (mmcv_patches.reproducible)
on a toy model, for each train loop / sampler / batch sampler kind."""
import glob
import itertools
import os
import os.path as osp
import pickle
import random

import numpy as np
import pytest
import torch
from mmcv_patches_toy import ToyModel
from mmengine.config import Config
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmcv_patches
from mmcv_patches import (KeyedSampler, KeyedSeedDataset,
                          ResumableBatchSampler, SampleKey, keyed_rng,
                          reproducibility_options)
from mmcv_patches.hooks import state_dict_digest
from mmcv_patches.reproducible import keyed_dataloader_cfg
from tests.testing import REPO_ROOT

N = 12
_RUNS = itertools.count()


class RandomAugDataset(Dataset):
    """Toy samples whose 'augmentation' draws from all three global
    generators (as mmcv / mmdet / our transforms do); counts its reads."""

    def __init__(self):
        self.reads = []
        self.metainfo = dict(classes=('toy', ))

    def __len__(self):
        return N

    def get_data_info(self, i):
        # wide and tall images, for AspectRatioBatchSampler
        return dict(width=8 if i % 3 else 4, height=6)

    def __getitem__(self, i):
        assert type(i) is int, type(i)
        self.reads.append(i)
        g = torch.Generator().manual_seed(i)
        x = torch.randn(3, 8, 8, generator=g)
        x = x * (1 + random.random()) + float(np.random.rand())
        x = x + 0.1 * torch.randn(3, 8, 8)
        return dict(x=x, y=torch.randn(1, generator=g))


class NoisyToyModel(ToyModel):
    """ToyModel with random input noise drawn in the main process (as
    dropout or a random batch augmentation would)."""

    def forward(self, x, y=None, mode='loss'):
        if mode == 'loss':
            x = x + 0.01 * torch.randn_like(x) + 0.01 * random.random()
        return super().forward(x, y, mode)


def toy_runner(work_dir,
               *,
               by_epoch=True,
               sampler='DefaultSampler',
               batch_sampler=None,
               max_iters=12,
               ckpt_interval=0,
               resume_from=None,
               enable=True):
    """A toy Runner: 12 samples, batch 2 (6 batches a pass), SGD."""
    loader = dict(
        dataset=RandomAugDataset(),
        sampler=dict(type=sampler, shuffle=True),
        batch_size=2,
        num_workers=0,
        collate_fn=dict(type='default_collate'))
    if batch_sampler:
        loader['batch_sampler'] = dict(type=batch_sampler)
    hooks = dict(logger=dict(type='LoggerHook', interval=1))
    hooks['checkpoint'] = dict(
        type='CheckpointHook',
        interval=ckpt_interval or 100,
        by_epoch=False,
        max_keep_ckpts=-1)
    train_cfg = dict(by_epoch=True, max_epochs=max_iters // 6) if by_epoch \
        else dict(by_epoch=False, max_iters=max_iters)
    return Runner(
        model=NoisyToyModel(),
        work_dir=work_dir,
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=train_cfg,
        default_hooks=hooks,
        resume=resume_from is not None,
        load_from=resume_from,
        randomness=dict(seed=5),
        cfg=dict(reproducibility=dict(enable=enable)),
        log_level='WARNING',
        experiment_name=f'repro_{os.getpid()}_{next(_RUNS)}')


def digest(runner):
    return state_dict_digest(runner.model.state_dict())


# ---------------------------------------------------------------- keys ----
def test_sample_key_is_an_int_that_pickles():
    key = SampleKey(7, epoch=3, seed=11)
    assert key == 7 and [10, 11, 12, 13, 14, 15, 16, 17][key] == 17
    back = pickle.loads(pickle.dumps(key))
    assert type(back) is SampleKey and (int(back), back.epoch,
                                        back.seed) == (7, 3, 11)


def test_keyed_rng_draws_by_key_and_restores_the_process_state():
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    before = (random.random(), np.random.rand(), torch.rand(1).item())

    def draws(seed, epoch, index):
        with keyed_rng(seed, epoch, index):
            return (random.random(), np.random.rand(), torch.rand(1).item())

    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    a = draws(0, 0, 5)
    # the process's streams continue as if nothing had been drawn
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == \
        before
    assert draws(0, 0, 5) == a
    for other in ((0, 1, 5), (0, 0, 6), (1, 0, 5)):
        assert all(x != y for x, y in zip(draws(*other), a)), other


def test_keyed_seed_dataset_forwards_attributes():
    inner = RandomAugDataset()
    ds = KeyedSeedDataset(inner)
    assert len(ds) == N and ds.metainfo == inner.metainfo
    ds.pipeline = 'switched'  # e.g. mmdet's PipelineSwitchHook
    assert inner.pipeline == 'switched'
    a = ds[SampleKey(3, 0, 0)]['x']
    assert torch.equal(ds[SampleKey(3, 0, 0)]['x'], a)
    assert not torch.equal(ds[SampleKey(3, 1, 0)]['x'], a)
    ds[3]  # plain ints pass through
    assert inner.reads == [3, 3, 3, 3]
    assert pickle.loads(pickle.dumps(ds)).metainfo == inner.metainfo


def test_retry_after_a_failed_image_follows_the_key():
    """mmengine's BaseDataset replaces a failed sample by a random other
    index (np.random): under the key, the same replacement every time."""
    from mmengine.dataset import BaseDataset

    class Unreadable(BaseDataset):

        def load_data_list(self):
            return [dict(i=i) for i in range(50)]

        def prepare_data(self, idx):
            return None if idx % 2 else dict(i=idx)  # odd images fail

    ds = KeyedSeedDataset(Unreadable(serialize_data=False))
    picks = {
        e: [ds[SampleKey(7, e, 0)]['i'] for _ in range(3)]
        for e in range(4)
    }
    assert all(len(set(p)) == 1 for p in picks.values()), picks
    assert len({p[0] for p in picks.values()}) > 1, picks


def test_keyed_sampler_keys_do_not_depend_on_world_size(monkeypatch):
    ds = RandomAugDataset()

    def keys(sampler_type, world_size, epoch=0, draws=None):
        out = []
        for rank in range(world_size):
            monkeypatch.setattr('mmengine.dataset.sampler.get_dist_info',
                                lambda: (rank, world_size))
            sampler = KeyedSampler(sampler_type(ds, seed=3), seed=3)
            sampler.set_epoch(epoch)
            it = iter(sampler)
            n = draws or len(sampler.sampler)
            out += [(int(k), k.epoch) for k in (next(it) for _ in range(n))]
        return sorted(out)

    for epoch in (0, 1):
        one = keys(DefaultSampler, 1, epoch)
        assert one == [(i, epoch) for i in range(N)]
        assert keys(DefaultSampler, 2, epoch) == one
        # 5 ranks pad the pass to 15 (3 repeated): same keys as well
        assert sorted(set(keys(DefaultSampler, 5, epoch))) == one
    # InfiniteSampler: the pass number comes from the stream position
    one = keys(InfiniteSampler, 1, draws=2 * N)
    assert one == sorted([(i, e) for i in range(N) for e in (0, 1)])
    assert keys(InfiniteSampler, 3, draws=2 * N // 3) == one


def test_repeats_in_a_pass_and_unknown_samplers(monkeypatch):
    ds = KeyedSeedDataset(RandomAugDataset())

    class Twice(DefaultSampler):  # e.g. class balancing: repeats in a pass

        def __iter__(self):
            for i in super().__iter__():
                yield i
                yield i

    keys = list(KeyedSampler(Twice(ds, seed=0), seed=0))
    assert [(int(k), k.repeat) for k in keys[:2]] == [(int(keys[0]), 0),
                                                      (int(keys[0]), 1)]
    assert not torch.equal(ds[keys[0]]['x'], ds[keys[1]]['x'])
    # a sampler without known passes: plain indices, and a warning
    from torch.utils.data import RandomSampler
    logged = []
    monkeypatch.setattr('mmcv_patches.keyed_sampler.print_log',
                        lambda msg, **kwargs: logged.append(msg))
    unknown = KeyedSampler(RandomSampler(ds), seed=0)
    assert 'RandomSampler has no known passes' in logged[0]
    assert all(type(i) is int for i in unknown)


def test_resumable_batch_sampler_skips_without_reading():
    ds = RandomAugDataset()
    from mmdet.datasets.samplers import AspectRatioBatchSampler
    for cfg in (None, dict(type=AspectRatioBatchSampler)):
        sampler = KeyedSampler(DefaultSampler(ds, seed=0), seed=0)
        batches = ResumableBatchSampler(sampler, 3, batch_sampler=cfg)
        full = [list(map(int, b)) for b in batches]
        assert len(full) == len(batches) == 4
        batches.skip(2)
        iter(batches)  # torch starts iterators it never advances
        assert [list(map(int, b)) for b in batches] == full[2:]
        assert [list(map(int, b)) for b in batches] == full  # once only
    assert ds.reads == []


def test_options_and_config_rewrite():
    assert reproducibility_options(None) == dict(
        enable=True, resume_fallback=False)
    with pytest.raises(ValueError, match=r"\['enabled'\]"):
        reproducibility_options(dict(reproducibility=dict(enabled=False)))
    cfg = dict(
        dataset=dict(type='X'),
        sampler=dict(type='DefaultSampler'),
        batch_size=2,
        drop_last=True)
    keyed = keyed_dataloader_cfg(cfg, 4)
    assert 'drop_last' in cfg and 'drop_last' not in keyed  # not modified
    assert keyed['dataset']['type'] is KeyedSeedDataset
    assert keyed['sampler'] == dict(
        type=KeyedSampler, sampler=cfg['sampler'], seed=4)
    assert keyed['batch_sampler'] == dict(
        type=ResumableBatchSampler, batch_sampler=None, drop_last=True)
    assert keyed_dataloader_cfg(keyed, 4) == keyed
    # next to a configured batch sampler drop_last stays (DataLoader
    # rejects it there, as without keyed randomness)
    cfg['batch_sampler'] = dict(type='AspectRatioBatchSampler')
    keyed = keyed_dataloader_cfg(cfg, 4)
    assert keyed['drop_last'] and keyed['batch_sampler'] == dict(
        type=ResumableBatchSampler,
        batch_sampler=cfg['batch_sampler'],
        drop_last=False)
    for name in ('reproducible.train_dataloader', 'reproducible.epoch_loop',
                 'reproducible.iter_loop'):
        assert mmcv_patches.patch_report()[name] == 'applied'


# ------------------------------------------------- resume, loop by loop ----
KINDS = {
    'epoch-default':
    dict(by_epoch=True),
    'epoch-aspect-ratio':
    dict(by_epoch=True, batch_sampler='mmdet.AspectRatioBatchSampler'),
    'iter-default':
    dict(by_epoch=False),
    'iter-infinite':
    dict(by_epoch=False, sampler='InfiniteSampler'),
}


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_resume_mid_pass_equals_uninterrupted(kind, tmp_path):
    """12 iterations (2 passes of 6 batches) in one go, then again from the
    checkpoint at iteration 9 in a fresh Runner: same weights, and the
    resumed run read only the 6 samples of its 3 batches."""
    opts = KINDS[kind]
    ref = toy_runner(str(tmp_path / 'a'), ckpt_interval=3, **opts)
    ref.train()
    runner = toy_runner(
        str(tmp_path / 'b'),
        resume_from=str(tmp_path / 'a' / 'iter_9.pth'),
        **opts)
    runner.train()
    assert runner.iter == 12
    assert digest(runner) == digest(ref)
    # (the Runner deep-copies the data set: read the copy it used)
    reads = runner.train_dataloader.dataset.reads
    assert len(reads) == 6
    assert sorted(reads) == sorted(ref.train_dataloader.dataset.reads[-6:])


def test_resume_at_an_epoch_end_and_stock_behaviour(tmp_path):
    ref = toy_runner(str(tmp_path / 'a'), ckpt_interval=6)
    ref.train()
    # iteration checkpoint after the last batch of epoch 0
    runner = toy_runner(
        str(tmp_path / 'b'), resume_from=str(tmp_path / 'a' / 'iter_6.pth'))
    runner.train()
    assert runner.iter == 12 and digest(runner) == digest(ref)
    # switched off: mmengine replays the interrupted epoch from its start
    off = toy_runner(str(tmp_path / 'c'), ckpt_interval=3, enable=False)
    off.train()
    stock = toy_runner(
        str(tmp_path / 'd'),
        enable=False,
        resume_from=str(tmp_path / 'c' / 'iter_9.pth'))
    stock.train()
    assert stock.iter == 15 and digest(stock) != digest(off)


def test_changed_geometry_is_reported(tmp_path, capsys):
    ref = toy_runner(str(tmp_path / 'a'), ckpt_interval=3)
    ref.train()
    ckpt = torch.load(str(tmp_path / 'a' / 'iter_3.pth'), weights_only=True)
    saved = ckpt['message_hub']['runtime_info']['reproducibility/train_data']
    assert saved == dict(
        batches_per_epoch=6, batch_size=2, world_size=1, dataset_size=N)
    runner = toy_runner(
        str(tmp_path / 'b'), resume_from=str(tmp_path / 'a' / 'iter_3.pth'))
    runner.train_dataloader.batch_sampler.batch_size = 3  # as if changed
    capsys.readouterr()
    runner.train()
    out = capsys.readouterr().out
    assert "the resumed checkpoint was written with training data {'batches_" \
        "per_epoch': 6, 'batch_size': 2" in out
    assert "this run has {'batches_per_epoch': 6, 'batch_size': 3" in out


# ------------------------------------------------------ project configs ----
# every config a user trains with (not the shared `_base_/` files and the
# family folders' partial `_*.py` pieces)
CONFIGS = sorted(
    osp.relpath(p, REPO_ROOT) for p in glob.glob(
        osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p and not osp.basename(p).startswith('_'))


@pytest.mark.parametrize('path', CONFIGS)
def test_every_project_config_trains_with_keyed_randomness(path):
    cfg = Config.fromfile(osp.join(REPO_ROOT, path))
    assert 'mmcv_patches' in cfg.custom_imports['imports']
    assert reproducibility_options(cfg) == dict(
        enable=True, resume_fallback=False)
    loader = keyed_dataloader_cfg(cfg.train_dataloader, 0)
    assert loader['dataset']['type'] is KeyedSeedDataset
    assert loader['dataset']['dataset'] == cfg.train_dataloader.dataset
