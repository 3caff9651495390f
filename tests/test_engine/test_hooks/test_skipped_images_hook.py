"""SkippedImagesHook over two torchrun-style ranks (gloo): what the
data-loader workers of every rank skipped reaches rank 0's report."""
import json
import multiprocessing
import os
import types

import torch.distributed as dist

from mmdet_faces.datasets.skipped_images import record_skipped_image
from mmdet_faces.engine.hooks import SkippedImagesHook
from tests.testing import free_port


def _worker(rank: int, worker: int) -> None:
    record_skipped_image(f'r{rank}w{worker}.jpg', 'image file not found')
    record_skipped_image('shared.jpg', 'image file is empty')


def _rank(rank: int, work: str, port: int) -> None:
    """One rank: two forked data-loader-like workers record two skipped
    images each (one the same everywhere), then the epoch ends."""
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    runner = types.SimpleNamespace(work_dir=work, epoch=0, iter=0)
    hook = SkippedImagesHook(check_readable=False)
    hook.before_train(runner)
    ctx = multiprocessing.get_context('fork')
    workers = [ctx.Process(target=_worker, args=(rank, w)) for w in range(2)]
    for p in workers:
        p.start()
    for p in workers:
        p.join()
    hook.after_train_epoch(runner)
    hook.after_run(runner)
    dist.destroy_process_group()


def test_workers_of_every_rank_reach_rank_0(tmp_path):
    ctx = multiprocessing.get_context('fork')
    port = free_port()
    ranks = [
        ctx.Process(target=_rank, args=(r, str(tmp_path), port))
        for r in range(2)
    ]
    for p in ranks:
        p.start()
    for p in ranks:
        p.join(timeout=120)
    assert [p.exitcode for p in ranks] == [0, 0]
    with open(tmp_path / 'skipped_images.json') as f:
        (report, ) = json.load(f)
    assert report['epoch'] == 1 and report['skipped'] == 8
    counts = {i['path']: i['count'] for i in report['images']}
    assert counts == {
        'r0w0.jpg': 1,
        'r0w1.jpg': 1,
        'r1w0.jpg': 1,
        'r1w1.jpg': 1,
        'shared.jpg': 4
    }
    assert sorted(os.listdir(tmp_path)) == ['skipped_images.json']
