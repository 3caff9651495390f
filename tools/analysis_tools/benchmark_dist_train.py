#!/usr/bin/env python
"""Training throughput of a config, per device and in total, over nodes.

Runs ``--warmup`` + ``--iters`` training steps (the config's real train
data loader, model, optimizer wrapper and DDP wrapper, as ``Runner`` builds
them) and reports images/s of every rank and their sum, gathered to rank 0.

Single process::

    python tools/analysis_tools/benchmark_dist_train.py CONFIG --iters 20

Several devices / nodes (``tools/dist_benchmark.sh`` wraps this)::

    NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 \\
        tools/dist_benchmark.sh CONFIG 8 --iters 50

Only the timed ``--iters`` count (data loading included, warm-up excluded).
"""
import argparse
import os
import os.path as osp
import sys
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import mmengine
import torch
from mmengine.config import Config, DictAction
from mmengine.dist import all_gather_object, barrier, get_dist_info  # noqa
from mmengine.runner import Runner

import mmcv_patches  # noqa: F401
import mmdet_faces  # noqa: F401


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--iters', type=int, default=20, help='timed iterations')
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed iterations first')
    parser.add_argument(
        '--work-dir',
        help='work dir (default: '
        './work_dirs/benchmark/<config name>)')
    parser.add_argument(
        '--out', help='write the result as JSON here '
        '(rank 0)')
    parser.add_argument(
        '--amp', action='store_true', help='MixedPrecisionOptimWrapper O1')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings (as tools/train.py)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def synchronize(device: torch.device) -> None:
    """Wait for the accelerator's queued work (CUDA, NPU, ...)."""
    if device.type != 'cpu':
        mod = getattr(torch, device.type, None)
        if mod is not None and hasattr(mod, 'synchronize'):
            mod.synchronize()


def _batch_size(data) -> int:
    inputs = data['inputs'] if isinstance(data, dict) else data[0]
    return len(inputs)


def build_runner(args) -> Runner:
    """Runner for ``args.config`` with the benchmark overrides applied."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or osp.join(
        './work_dirs', 'benchmark',
        osp.splitext(osp.basename(args.config))[0])
    train_steps_only(cfg, args.amp)
    return Runner.from_cfg(cfg)


def train_steps_only(cfg: Config, amp: bool = False) -> None:
    """Strip ``cfg`` in place to what timing training steps needs: no
    checkpoint to load or resume, no validation / test, no checkpoint /
    logger hooks, warnings only; ``amp``: MixedPrecisionOptimWrapper O1."""
    if amp:
        cfg.optim_wrapper.type = 'MixedPrecisionOptimWrapper'
        cfg.optim_wrapper.setdefault('opt_level', 'O1')
    cfg.load_from = None
    cfg.resume = False
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.default_hooks = dict(checkpoint=None, logger=None)
    cfg.custom_hooks = []
    cfg.log_level = 'WARNING'


def benchmark(runner: Runner, iters: int, warmup: int) -> dict:
    """Time ``iters`` training steps after ``warmup`` ones.

    Args:
        runner (Runner): built runner (``Runner.from_cfg``).
        iters (int): timed iterations.
        warmup (int): untimed iterations first.

    Returns:
        dict: ``per_rank`` (list of dicts with rank, images, seconds,
        images_per_s), ``total_images_per_s``, ``world_size`` and more;
        identical on every rank.
    """
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner._init_model_weights()
    model = runner.model
    model.train()
    optim_wrapper = runner.optim_wrapper
    optim_wrapper.initialize_count_status(model, 0, iters + warmup)
    loader = runner.build_dataloader(
        runner.cfg.train_dataloader, seed=runner.seed)
    device = next(model.parameters()).device

    def batches():
        epoch = 0
        while True:
            if hasattr(loader.sampler, 'set_epoch'):
                loader.sampler.set_epoch(epoch)
            yield from loader
            epoch += 1

    it = batches()
    for _ in range(warmup):
        model.train_step(next(it), optim_wrapper=optim_wrapper)
    synchronize(device)
    barrier()
    images = 0
    start = time.perf_counter()
    for _ in range(iters):
        data = next(it)
        images += _batch_size(data)
        model.train_step(data, optim_wrapper=optim_wrapper)
    synchronize(device)
    seconds = time.perf_counter() - start
    rank, world_size = get_dist_info()
    mine = dict(
        rank=rank,
        node_rank=int(
            os.environ.get('NODE_RANK', os.environ.get('GROUP_RANK', 0))),
        device=str(device),
        images=images,
        seconds=seconds,
        images_per_s=images / seconds if seconds > 0 else 0.)
    per_rank = all_gather_object(mine)
    return dict(
        config=runner.cfg.filename,
        world_size=world_size,
        iters=iters,
        warmup=warmup,
        per_rank=per_rank,
        total_images=sum(r['images'] for r in per_rank),
        total_images_per_s=sum(r['images_per_s'] for r in per_rank),
        mean_images_per_s_per_device=sum(r['images_per_s']
                                         for r in per_rank) / world_size)


def main(argv=None) -> dict:
    args = parse_args(argv)
    runner = build_runner(args)
    result = benchmark(runner, args.iters, args.warmup)
    if get_dist_info()[0] == 0:
        for r in result['per_rank']:
            print(f"rank {r['rank']} (node {r['node_rank']}, {r['device']}):"
                  f" {r['images_per_s']:.2f} images/s "
                  f"({r['images']} images in {r['seconds']:.2f} s)")
        print(f"total: {result['total_images_per_s']:.2f} images/s over "
              f"{result['world_size']} device(s); mean per device "
              f"{result['mean_images_per_s_per_device']:.2f} images/s")
        if args.out:
            mmengine.dump(result, args.out, indent=1)  # creates the folder
    return result


if __name__ == '__main__':
    main()
