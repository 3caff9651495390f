"""A tiny mmengine model/data set for the mmcv_patches tests.

Also a script: ``python mmcv_patches_toy.py WORK_DIR OPT_LEVEL [MAX_ITERS]``
trains it with ``--launcher pytorch`` semantics under torchrun (gloo on
CPU) with :class:`DistributedCheckHook`.
"""
import itertools
import os
import os.path as osp
import sys

import torch
import torch.nn as nn
from torch.utils.data import Dataset

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.model import BaseModel  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmcv_patches  # noqa: E402,F401

_COUNTER = itertools.count()


class ToyDataset(Dataset):
    """16 fixed random (3x8x8 image, scalar target) pairs."""

    def __len__(self):
        return 16

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(
            x=torch.randn(3, 8, 8, generator=g), y=torch.randn(1, generator=g))


class ToyModel(BaseModel):
    """conv -> BatchNorm -> pooled linear; MSE loss."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 1)

    def forward(self, x, y=None, mode='loss'):
        out = self.fc(self.bn(self.conv(x)).mean((2, 3)))
        if mode == 'loss':
            return dict(loss=((out.float() - y)**2).mean())
        return [o for o in out]


def make_runner(work_dir,
                optim_wrapper=None,
                max_iters=6,
                ckpt_interval=3,
                resume=False,
                load_from=None,
                launcher='none',
                custom_hooks=None,
                param_scheduler=None,
                name=None,
                max_keep_ckpts=-1,
                cfg=None):
    """A Runner for :class:`ToyModel` (iteration based, SGD by default)."""
    if optim_wrapper is None:
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
    return Runner(
        model=ToyModel(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=optim_wrapper,
        param_scheduler=param_scheduler,
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(
                type='CheckpointHook',
                interval=ckpt_interval,
                by_epoch=False,
                max_keep_ckpts=max_keep_ckpts)),
        custom_hooks=custom_hooks,
        resume=resume,
        load_from=load_from,
        launcher=launcher,
        env_cfg=dict(dist_cfg=dict(backend='nccl')),
        randomness=dict(seed=0),
        cfg=cfg,
        log_level='WARNING',
        experiment_name=name or f'toy_{os.getpid()}_{next(_COUNTER)}')


if __name__ == '__main__':
    work_dir, level = sys.argv[1], sys.argv[2]
    iters = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    ow = None if level == 'none' else dict(
        type='MixedPrecisionOptimWrapper',
        opt_level=level,
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
    runner = make_runner(
        work_dir,
        ow,
        max_iters=iters,
        ckpt_interval=iters,
        launcher='pytorch',
        custom_hooks=[dict(type='DistributedCheckHook', interval=1)])
    runner.train()
    line = (f'wrapper {type(runner.model).__name__} '
            f'{next(runner.model.module.conv.parameters()).dtype}')
    print(line)
    # one file per rank: the ranks' stdout lines can interleave in the pipe
    rank = int(os.environ.get('RANK', 0))
    with open(os.path.join(work_dir, f'wrapper_rank{rank}.txt'), 'w') as f:
        f.write(line + '\n')
