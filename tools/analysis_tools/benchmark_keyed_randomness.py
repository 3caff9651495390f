#!/usr/bin/env python
"""Cost of keyed randomness: the training data pipeline with and without it.

Times a config's training data loader over the same images, alternating
stock mmengine loading (``reproducibility.enable=False``) and keyed loading
(every sample under :func:`mmcv_patches.keyed_rng`), one pass each, for
``--passes`` rounds, and the keyed seeding alone (seeding ``random``,
``np.random`` and torch from the key; in the main process also saving and
restoring the process's states, which data workers skip).
A benchmark, not a test: prints ms per image and images/s.

Example::

    python tools/analysis_tools/benchmark_keyed_randomness.py
    python tools/analysis_tools/benchmark_keyed_randomness.py \
        configs/s3fd/s3fd_vgg16-w0.125_1xb8-300iter_widerface-synthetic.py \
        --workers 2 --passes 6

The random draws differ between the two modes (that is the point), and
some draws cost more than others (a Lanczos resize against a bilinear
one), so compare medians over several passes of many images.
"""
import argparse
import copy
import os.path as osp
import statistics
import sys
import time
import timeit

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def build_loader(cfg, data_root: str, num_images: int, workers: int,
                 keyed: bool, seed: int):
    """The config's train data loader, one image per batch."""
    from mmengine.runner import Runner

    from mmcv_patches.reproducible import keyed_dataloader_cfg
    loader = copy.deepcopy(cfg.train_dataloader)
    loader.dataset.data_root = data_root
    loader.dataset.indices = num_images
    loader.update(
        batch_size=1, num_workers=workers, persistent_workers=workers > 0)
    if keyed:
        loader = keyed_dataloader_cfg(loader, seed)
    return Runner.build_dataloader(loader, seed=seed)


def time_pass(loader, epoch: int) -> float:
    """Seconds for one pass over ``loader`` in ``epoch``."""
    sampler = getattr(loader.batch_sampler, 'sampler', loader.sampler)
    sampler.set_epoch(epoch)
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config',
        nargs='?',
        default='configs/retinaface/'
        'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')
    parser.add_argument('--data-root', default='data/widerface/')
    parser.add_argument('--num-images', type=int, default=64)
    parser.add_argument(
        '--passes',
        type=int,
        default=4,
        help='timed passes per mode (after one warm-up)')
    parser.add_argument('--workers', type=int, default=0)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmcv_patches import keyed_rng
    from tools.analysis_tools.benchmark_speed import ensure_data
    cfg = Config.fromfile(args.config)
    DefaultScope.get_instance('benchmark_keyed', scope_name='mmdet')
    root = ensure_data(args.data_root).rstrip('/') + '/'
    loaders = {
        mode:
        build_loader(cfg, root, args.num_images, args.workers, mode == 'keyed',
                     args.seed)
        for mode in ('stock', 'keyed')
    }
    for loader in loaders.values():  # warm-up: file cache, workers
        time_pass(loader, 0)
    times = {mode: [] for mode in loaders}
    for epoch in range(1, args.passes + 1):
        for mode, loader in loaders.items():
            times[mode].append(time_pass(loader, epoch) / args.num_images)
    n = 5000
    seeding = {
        where:
        min(
            timeit.repeat(
                'with keyed_rng(seed, 1, 7, restore=restore): pass',
                globals=dict(
                    keyed_rng=keyed_rng, seed=args.seed, restore=restore),
                number=n,
                repeat=3)) / n
        for where, restore in (('main process', True), ('data worker', False))
    }

    print(f'{args.config}: {args.num_images} images, {args.passes} passes '
          f'per mode, {args.workers} workers')
    print('| mode | ms/image (median) | best | images/s (median) |')
    print('|---|---:|---:|---:|')
    med = {}
    for mode, ts in times.items():
        med[mode] = statistics.median(ts)
        print(f'| {mode} | {med[mode] * 1e3:.2f} | {min(ts) * 1e3:.2f} | '
              f'{1 / med[mode]:.1f} |')
    print(f'keyed / stock time per image: {med["keyed"] / med["stock"]:.3f}')
    for where, sec in seeding.items():
        print(f'keyed seeding alone, {where}: {sec * 1e6:.1f} us per image '
              f'({sec / med["stock"] * 100:.2f} % of a stock image)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
