"""RetinaFace demo config through tools/dist_train.sh (2 CPU ranks, gloo) and
kill-and-resume, on the tiny generated WIDER set."""
import pytest
from mmengine.config import Config

from tests.testing import (assert_eval_gathered_once, assert_ranks_identical,
                           expected_lrs, kill_and_resume, read_dist_checks,
                           run_tool, tiny_run_options)

pytestmark = pytest.mark.slow
CONFIG = ('configs/retinaface/'
    'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')
NUM_VAL = 12  # the tiny_widerface fixture


def widerface_options(root, batch_size=4, epochs=1, val=True):
    root = root.rstrip('/') + '/'
    return tiny_run_options(
        {
            'train_dataloader.dataset.data_root': root,
            'train_dataloader.batch_size': batch_size,
            'train_cfg.max_epochs': epochs,
            'train_cfg.val_interval': epochs,
        }, {
            'dataloader.dataset.data_root': root,
            'evaluator.gt_dir': root + 'ground_truth/',
        } if val else None)


def test_dist_train_two_cpu_ranks(tiny_widerface, tmp_path):
    """Same weights on both ranks after the steps; WIDER metric computed
    once, on rank 0, over all val images."""
    work = str(tmp_path / 'train')
    res = run_tool('train', CONFIG, work, nproc=2, dist_check=True,
                   cfg_options=widerface_options(tiny_widerface))
    assert res.returncode == 0, res
    checks = read_dist_checks(work)
    assert_ranks_identical(checks, 'before_train', world_size=2)
    final = assert_ranks_identical(checks, 'after_train', world_size=2)
    assert final != checks[0]['hashes']['before_train']  # it trained
    val = assert_eval_gathered_once(checks, NUM_VAL, 'val')
    assert 'widerface/easy' in val[-1]['metrics']


def test_kill_and_resume(tiny_widerface, tmp_path):
    """SIGKILL after the epoch-1 checkpoint; --resume continues at the next
    iteration with the scheduled LR and the saved weights."""
    # 24 train images at batch 8: 3 iterations an epoch
    opts = widerface_options(tiny_widerface, batch_size=8, epochs=2,
                             val=False)
    opts['default_hooks.checkpoint.interval'] = 1
    out = kill_and_resume(CONFIG, str(tmp_path), kill_after_iter=4,
                          cfg_options=opts)
    assert out['first'].returncode == -9, out['first']
    assert out['second'].returncode == 0, out['second']
    assert out['checkpoint'].endswith('epoch_1.pth')
    assert 'resumed epoch: 1, iter: 3' in out['second'].output
    assert out['loaded_digest'] == out['checkpoint_digest']
    first = {s['iter']: s['lr'] for s in out['first_scalars'] if 'lr' in s}
    second = {s['iter']: s['lr'] for s in out['second_scalars'] if 'lr' in s}
    assert sorted(first) == [1, 2, 3, 4]
    assert sorted(second) == [4, 5, 6]
    cfg = Config.fromfile(CONFIG)  # warm-up + cosine (over 12 epochs)
    lrs = expected_lrs(cfg.param_scheduler, cfg.optim_wrapper.optimizer.lr,
                       6, iters_per_epoch=3)
    for it, lr in list(first.items()) + list(second.items()):
        assert lr == pytest.approx(lrs[it - 1], rel=1e-6), (it, lr)
    assert second[4] == pytest.approx(first[4], rel=1e-9)
