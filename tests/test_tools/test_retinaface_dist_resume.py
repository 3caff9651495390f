"""RetinaFace demo config through tools/dist_train.sh (2 CPU ranks, gloo),
kill-and-resume and exact reproducibility, on the tiny generated WIDER set.

The seeded deterministic 2-epoch run (24 images, batch 4: 6 iterations an
epoch) is trained once without interruption (``reference``); every killed
and resumed run, and every number of data workers, must end with its very
weights and log its very losses."""
import os
import os.path as osp
import random
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmcv_patches.reproducible import keyed_dataloader_cfg
from tests.testing import (assert_trained_in_step, checkpoint_digest,
                           expected_lrs, kill_and_resume, latest_run_dir,
                           read_dist_checks, read_scalars, run_tool,
                           widerface_options)

pytestmark = pytest.mark.slow
CONFIG = ('configs/retinaface/'
          'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')
NUM_VAL = 12  # the tiny_widerface fixture
SEED = 3


def exact_options(root,
                  num_workers=0,
                  persistent=False,
                  val=False,
                  ckpt_interval=3):
    """2 seeded deterministic epochs of batch 4, an iteration checkpoint
    every ``ckpt_interval`` iterations (two kept)."""
    opts = widerface_options(root, batch_size=4, epochs=2, val=val)
    opts.update({
        'randomness.seed': SEED,
        'randomness.deterministic': True,
        'train_dataloader.num_workers': num_workers,
        'train_dataloader.persistent_workers': persistent,
        'default_hooks.checkpoint.by_epoch': False,
        'default_hooks.checkpoint.interval': ckpt_interval,
        'default_hooks.checkpoint.max_keep_ckpts': 2,
        'default_hooks.checkpoint.save_best': None,
    })
    return opts


def losses(scalars):
    """iteration -> logged loss."""
    return {s['iter']: s['loss'] for s in scalars if 'loss' in s}


def final_checkpoint(work):
    """The checkpoint written after the last (12th) iteration."""
    return osp.join(work, 'iter_12.pth')


@pytest.fixture(scope='module')
def reference(tiny_widerface, tmp_path_factory):
    """The uninterrupted run: digest of the final weights, logged losses."""
    work = str(tmp_path_factory.mktemp('reference'))
    res = run_tool(
        'train', CONFIG, work, cfg_options=exact_options(tiny_widerface))
    assert res.returncode == 0, res
    scalars = read_scalars(latest_run_dir(work))
    return dict(
        work=work,
        digest=checkpoint_digest(final_checkpoint(work)),
        losses=losses(scalars),
        epochs={s['iter']: s['epoch']
                for s in scalars if 'loss' in s})


def assert_same_as_reference(reference, work, scalars, after_iter):
    assert checkpoint_digest(final_checkpoint(work)) == reference['digest']
    logged = losses(scalars)
    assert sorted(logged) == list(range(after_iter + 1, 13)), sorted(logged)
    for it, loss in logged.items():
        assert loss == reference['losses'][it], (it, loss)


@pytest.fixture(scope='module')
def killed_in_epoch_2(tiny_widerface, tmp_path_factory):
    """SIGKILL after a random iteration of epoch 2 (iterations 7-12;
    checkpoints at 3, 6, 9, 12) whose latest checkpoint lies inside epoch
    2 (iter_9, after 3 of its 6 batches; a kill after 7 or 8 would resume
    from iter_6, the end of epoch 1), persistent workers; then
    ``--resume``."""
    kill = random.SystemRandom().choice([10, 11])
    work = str(tmp_path_factory.mktemp('killed'))
    out = kill_and_resume(
        CONFIG,
        work,
        kill_after_iter=kill,
        cfg_options=exact_options(
            tiny_widerface, num_workers=2, persistent=True))
    out.update(kill=kill, work=work)
    return out


def test_killed_mid_epoch_resumes_to_the_same_weights(reference,
                                                      killed_in_epoch_2):
    """1. Killed at a random iteration of epoch 2 and resumed from the
    iteration checkpoint before it, in the middle of epoch 2: the weights
    and every loss logged after the resume are those of the uninterrupted
    run, bit for bit."""
    out = killed_in_epoch_2
    kill, resumed_at = out['kill'], out['kill'] // 3 * 3
    assert out['first'].returncode == -9, out['first']
    assert out['second'].returncode == 0, out['second']
    assert out['checkpoint'].endswith(f'iter_{resumed_at}.pth'), kill
    # the reference's log: 6 iterations an epoch, iterations 7-12 epoch 2;
    # the checkpoint and the iteration after it both inside epoch 2
    epochs = reference['epochs']
    per_epoch = sum(e == 1 for e in epochs.values())
    assert per_epoch == 6 and sorted(epochs) == list(range(1, 13))
    assert epochs[resumed_at] == epochs[resumed_at + 1] == 2, resumed_at
    batch = resumed_at - per_epoch
    assert 0 < batch < per_epoch
    assert f'resumed epoch: 1, iter: {resumed_at}' in out['second'].output
    assert f'resuming at batch {batch} of the data stream (epoch 1)' \
        in out['second'].output
    assert out['loaded_digest'] == out['checkpoint_digest']
    assert_same_as_reference(reference, out['work'], out['second_scalars'],
                             resumed_at)


def test_killed_after_epoch_checkpoint(reference, tiny_widerface, tmp_path):
    """Resume from the epoch checkpoint: the next iteration with the
    scheduled LR, the saved weights, and the reference's final weights."""
    opts = exact_options(tiny_widerface)
    opts.update({
        'default_hooks.checkpoint.by_epoch': True,
        'default_hooks.checkpoint.interval': 1
    })
    out = kill_and_resume(
        CONFIG, str(tmp_path), kill_after_iter=8, cfg_options=opts)
    assert out['first'].returncode == -9, out['first']
    assert out['second'].returncode == 0, out['second']
    assert out['checkpoint'].endswith('epoch_1.pth')
    assert 'resumed epoch: 1, iter: 6' in out['second'].output
    assert out['loaded_digest'] == out['checkpoint_digest']
    first = {s['iter']: s['lr'] for s in out['first_scalars'] if 'lr' in s}
    second = {s['iter']: s['lr'] for s in out['second_scalars'] if 'lr' in s}
    assert sorted(first) == list(range(1, 9))
    assert sorted(second) == list(range(7, 13))
    cfg = Config.fromfile(CONFIG)  # warm-up + cosine (over 12 epochs)
    lrs = expected_lrs(
        cfg.param_scheduler,
        cfg.optim_wrapper.optimizer.lr,
        12,
        iters_per_epoch=6)
    for it, lr in list(first.items()) + list(second.items()):
        assert lr == pytest.approx(lrs[it - 1], rel=1e-6), (it, lr)
    assert second[7] == pytest.approx(first[7], rel=1e-9)
    assert checkpoint_digest(str(tmp_path / 'epoch_2.pth')) == \
        reference['digest']
    assert losses(out['second_scalars']) == {
        it: loss
        for it, loss in reference['losses'].items() if it > 6
    }


@pytest.mark.parametrize('num_workers,persistent', [(2, False), (3, True)])
def test_number_of_workers_changes_nothing(reference, tiny_widerface, tmp_path,
                                           num_workers, persistent):
    """3. 0 (the reference), 2 and 3 data workers, persistent or not:
    bit-identical weights after 2 epochs."""
    work = str(tmp_path)
    res = run_tool(
        'train',
        CONFIG,
        work,
        cfg_options=exact_options(tiny_widerface, num_workers, persistent))
    assert res.returncode == 0, res
    assert_same_as_reference(reference, work,
                             read_scalars(latest_run_dir(work)), 0)


def _augmented(root, epoch, num_workers):
    """img_path -> packed training input of every image in ``epoch``."""
    cfg = Config.fromfile(CONFIG)
    loader = cfg.train_dataloader
    loader.dataset.data_root = root
    loader.update(
        batch_size=4, num_workers=num_workers, persistent_workers=False)
    loader = Runner.build_dataloader(keyed_dataloader_cfg(loader, SEED))
    loader.batch_sampler.sampler.set_epoch(epoch)
    out = {}
    for batch in loader:
        for img, sample in zip(batch['inputs'], batch['data_samples']):
            out[sample.img_path] = (img, sample.flip)
    return out


def test_two_epochs_see_different_augmentations(tiny_widerface):
    """4. The augmentation stream does not repeat: epoch 1 crops, distorts
    and flips every image differently from epoch 0; an epoch is the same
    in the main process and in 2 workers (and again)."""
    root = tiny_widerface.rstrip('/') + '/'
    e0 = _augmented(root, 0, 0)
    assert len(e0) == 24
    again, workers = _augmented(root, 0, 0), _augmented(root, 0, 2)
    e1 = _augmented(root, 1, 0)
    for path, (img, flip) in e0.items():
        for other in (again, workers):
            assert torch.equal(other[path][0], img) and \
                other[path][1] == flip, path
        assert not torch.equal(e1[path][0], img), path
    # mmdet's RandomFlip (np.random) follows the key too
    flips0 = [f for _, f in e0.values()]
    flips1 = [e1[p][1] for p in e0]
    assert 0 < sum(flips0) < 24 and flips0 != flips1


def test_truncated_latest_checkpoint(reference, killed_in_epoch_2,
                                     tiny_widerface, tmp_path):
    """5. The latest checkpoint is truncated: ``--resume`` stops with one
    line naming it and changes no file; asked to, it resumes from the
    previous checkpoint and ends with the reference's weights."""
    # the killed-and-resumed run's folder, in a copy (last_checkpoint
    # names the copy): iter_9 and iter_12 kept, last_checkpoint -> iter_12
    work = str(tmp_path / 'work')
    shutil.copytree(killed_in_epoch_2['work'], work)
    latest = osp.join(work, 'iter_12.pth')
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(latest)
    size = os.path.getsize(latest)
    with open(latest, 'r+b') as f:
        f.truncate(size // 3)

    def files():
        """The checkpoints (and temporary files) and last_checkpoint."""
        out = {}
        for name in sorted(os.listdir(work)):
            if name.endswith('.pth') or name.startswith('.') or \
                    name == 'last_checkpoint':
                with open(osp.join(work, name), 'rb') as f:
                    out[name] = f.read()
        return out

    before = files()
    opts = exact_options(tiny_widerface, num_workers=2, persistent=True)
    res = run_tool('train', CONFIG, work, cfg_options=opts, args=['--resume'])
    assert res.returncode == 1, res
    last = res.output.strip().splitlines()[-1]
    assert last.startswith(
        'train.py: error: cannot resume from the latest checkpoint, named '
        f'by {work}/last_checkpoint: checkpoint {latest} is truncated'), last
    assert 'reproducibility.resume_fallback=True' in last
    assert f'{work}/iter_9.pth' in last
    assert files() == before

    opts['reproducibility.resume_fallback'] = True
    res = run_tool('train', CONFIG, work, cfg_options=opts, args=['--resume'])
    assert res.returncode == 0, res
    assert f'resuming from the newest intact checkpoint {work}/iter_9.pth' \
        in res.output
    assert_same_as_reference(reference, work,
                             read_scalars(latest_run_dir(work)), 9)


@pytest.fixture(scope='module')
def dist_reference(tiny_widerface, tmp_path_factory):
    """2 epochs on 2 gloo ranks (batch 4 each: 3 iterations an epoch),
    validation at the end, checkpoints every 2 iterations."""
    work = str(tmp_path_factory.mktemp('dist_reference'))
    opts = exact_options(tiny_widerface, val=True, ckpt_interval=2)
    res = run_tool(
        'train', CONFIG, work, nproc=2, dist_check=True, cfg_options=opts)
    assert res.returncode == 0, res
    return dict(
        work=work,
        result=res,
        options=opts,
        digest=checkpoint_digest(osp.join(work, 'iter_6.pth')),
        losses=losses(read_scalars(latest_run_dir(work))))


def test_dist_train_two_cpu_ranks(dist_reference):
    """Same weights on both ranks after the steps; WIDER metric computed
    once, on rank 0, over all val images."""
    checks = read_dist_checks(dist_reference['work'])
    val = assert_trained_in_step(checks, NUM_VAL)
    assert 'widerface/easy' in val[-1]['metrics']


def test_dist_killed_mid_epoch_resumes_to_the_same_weights(
        dist_reference, tmp_path):
    """2. ``tools/dist_train.sh CONFIG 2``: both ranks killed after
    iteration 5 (epoch 2, batch 2 of 3), resumed from iteration 4: the
    uninterrupted run's weights and losses."""
    opts = dict(dist_reference['options'])
    opts.update({
        'val_dataloader': None,
        'val_cfg': None,
        'val_evaluator': None
    })
    out = kill_and_resume(
        CONFIG, str(tmp_path), kill_after_iter=5, cfg_options=opts, nproc=2)
    assert out['first'].returncode != 0, out['first']
    assert out['second'].returncode == 0, out['second']
    assert out['checkpoint'].endswith('iter_4.pth')
    assert 'resuming at batch 1 of the data stream (epoch 1)' in \
        out['second'].output
    assert checkpoint_digest(str(tmp_path / 'iter_6.pth')) == \
        dist_reference['digest']
    assert losses(out['second_scalars']) == {
        it: loss
        for it, loss in dist_reference['losses'].items() if it > 4
    }
