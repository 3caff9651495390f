"""torch.load weights_only=True with mmengine checkpoints (torch >= 2.6)."""
import io
import os
import os.path as osp
import pickle
import subprocess

import pytest
import torch
from mmcv_patches_toy import ToyModel, make_runner
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint

import mmcv_patches
from mmcv_patches.compat import restricted_getattr
from mmcv_patches.hooks import state_dict_digest
from tests.testing import REPO_ROOT, expected_lrs, python_exe

needs_weights_only_default = pytest.mark.skipif(
    tuple(int(x) for x in torch.__version__.split('.')[:2]) < (2, 6),
    reason='torch.load is weights-only by default from torch 2.6')

SCHED = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
    dict(type='MultiStepLR', milestones=[4], gamma=0.5, by_epoch=False),
]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A toy run with checkpoints at iterations 3 and 6."""
    work = str(tmp_path_factory.mktemp('ckpt'))
    runner = make_runner(
        work, max_iters=6, ckpt_interval=3, param_scheduler=SCHED)
    runner.train()
    return work


@needs_weights_only_default
def test_checkpoint_needs_the_allow_list(trained):
    ckpt = osp.join(trained, 'iter_3.pth')
    # a fresh interpreter without mmcv_patches cannot load it
    code = ('import torch, sys\n'
            'print(sorted(torch.serialization.'
            'get_unsafe_globals_in_checkpoint(sys.argv[1])))\n'
            'try:\n    torch.load(sys.argv[1])\n'
            'except Exception as e:\n    print(type(e).__name__)\n'
            'else:\n    print("LOADED")\n')
    out = subprocess.run([python_exe(), '-c', code, ckpt],
                         text=True,
                         capture_output=True,
                         timeout=120)
    unsafe, result = out.stdout.strip().splitlines()[-2:]
    assert result == 'UnpicklingError', out.stderr[-2000:]
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in unsafe
    assert 'builtins.getattr' in unsafe
    # ... here, every global is allow-listed
    assert torch.serialization.get_unsafe_globals_in_checkpoint(ckpt) == []
    # ... with it (this process) weights_only=True loads every global
    assert 'compat.torch_load_safe_globals' in mmcv_patches.applied_patches()
    ckpt_obj = torch.load(ckpt, weights_only=True)
    hub = ckpt_obj['message_hub']
    assert isinstance(hub['log_scalars']['train/loss'], HistoryBuffer)
    assert ckpt_obj['meta']['iter'] == 3


def test_resume_continues_iteration_lr_and_weights(trained, tmp_path):
    ckpt = osp.join(trained, 'iter_3.pth')
    saved = torch.load(ckpt, weights_only=True)
    runner = make_runner(
        str(tmp_path),
        max_iters=6,
        ckpt_interval=100,
        param_scheduler=SCHED,
        resume=True,
        load_from=ckpt)
    seen = {}

    class Grab(Hook):

        def before_train(self, runner):
            seen['iter'] = runner.iter
            seen['lr'] = runner.optim_wrapper.get_lr()['lr'][0]
            seen['digest'] = state_dict_digest(runner.model.state_dict())
            seen['momentum'] = [
                s['momentum_buffer'].clone()
                for s in runner.optim_wrapper.optimizer.state.values()
            ]

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen.setdefault('lrs',
                            []).append(runner.optim_wrapper.get_lr()['lr'][0])

    runner.register_hook(Grab(), 'LOWEST')
    runner.train()
    assert seen['iter'] == 3 and runner.iter == 6
    assert seen['digest'] == state_dict_digest(saved['state_dict'])
    saved_mom = [
        s['momentum_buffer'] for s in saved['optimizer']['state'].values()
    ]
    assert all(torch.equal(a, b) for a, b in zip(saved_mom, seen['momentum']))
    # the schedule of an uninterrupted run: warm-up done, then x0.5 at 4
    expected = expected_lrs(SCHED, 0.01, 6)
    assert expected[3:] == pytest.approx([0.01, 0.005, 0.005])
    assert seen['lrs'] == pytest.approx(expected[3:])
    assert seen['lr'] == seen['lrs'][0]


def test_load_checkpoint_and_test_path(trained):
    ckpt = osp.join(trained, 'iter_6.pth')
    model = ToyModel()
    load_checkpoint(model, ckpt, map_location='cpu')
    saved = _load_checkpoint(ckpt, map_location='cpu')
    assert state_dict_digest(model.state_dict()) == state_dict_digest(
        saved['state_dict'])


class _Evil:

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_malicious_pickles_are_refused(tmp_path):
    marker = tmp_path / 'pwned'
    evil = _Evil()
    evil.marker = str(marker)
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=ToyModel().state_dict(), meta=evil), path)
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(path, map_location='cpu')
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(ToyModel(), path, map_location='cpu')
    assert not marker.exists()

    # builtins.getattr is only allowed for HistoryBuffer statistics
    class Sneaky:

        def __reduce__(self):
            return (getattr, (HistoryBuffer, 'update'))

    buf = io.BytesIO()
    torch.save({'x': Sneaky()}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match='refuses getattr'):
        torch.load(buf, weights_only=True)
    assert restricted_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError):
        restricted_getattr(os, 'system')


def test_patch_report_lists_every_patch():
    report = mmcv_patches.patch_report()
    for name in ('compat.torch_load_safe_globals',
                 'compat.amp_optim_wrapper_cpu', 'dist.init_dist_pytorch',
                 'runner.wrap_model', 'runner.build_optim_wrapper',
                 'optimizers.apex', 'optimizers.torch_npu'):
        assert name in report
    if mmcv_patches.get_apex() is None:
        assert report['optimizers.apex'] == 'skipped: apex is not installed'
    # idempotent: applying again changes nothing
    assert mmcv_patches.apply_all() == report
    out = subprocess.run([
        python_exe(), '-c', 'import mmcv_patches, importlib, sys; '
        'importlib.reload(mmcv_patches); '
        'print(sorted(mmcv_patches.applied_patches()))'
    ],
                         env=dict(os.environ, PYTHONPATH=REPO_ROOT),
                         capture_output=True,
                         text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'runner.wrap_model' in out.stdout
