"""Mixed precision on CPU: LossScaler, O0/O1/O2, skipped steps, --amp."""
import glob
import os
import os.path as osp
import subprocess

import pytest
import torch
from mmcv_patches_toy import ToyModel, make_runner
from mmengine.hooks import Hook
from mmengine.logging import MessageHub

from mmcv_patches import LossScaler, MixedPrecisionOptimWrapper
from mmcv_patches.hooks import state_dict_digest
from tests.testing import REPO_ROOT, FaultInjectionHook, free_port, python_exe

HERE = osp.dirname(osp.abspath(__file__))
# in-process runs put the model on the default device; bf16 is CPU's dtype
cpu_only = pytest.mark.skipif(
    torch.cuda.is_available(), reason='expects a CPU-only machine')


def _log_text(work_dir):
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    return open(logs[-1]).read()


def _params_digest(model):
    # parameters only: BatchNorm running stats change in every forward
    return state_dict_digest(dict(model.named_parameters()))


class RecordHook(Hook):
    """Records per iteration the parameter hash before/after, conv dtype."""
    priority = 'LOWEST'

    def __init__(self):
        self.before, self.after, self.act_dtypes = {}, {}, []
        self._h = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model
        self.before[runner.iter + 1] = _params_digest(model)
        if self._h is None:
            self._h = model.conv.register_forward_hook(
                lambda m, i, o: self.act_dtypes.append(o.dtype))

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.after[runner.iter + 1] = _params_digest(runner.model)


def test_loss_scaler_dynamic_and_static():
    s = LossScaler(init_scale=8., growth_interval=2)
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.tensor([8., 16.])
    assert s.unscale_([p]) is False
    assert torch.equal(p.grad, torch.tensor([1., 2.]))
    s.update(False)
    s.update(False)
    assert s.scale == 16.
    p.grad = torch.tensor([1., float('inf')])
    assert s.unscale_([p]) is True
    s.update(True)
    assert s.scale == 8. and s.growth_tracker == 0
    bf = torch.nn.Parameter(torch.ones(2, dtype=torch.bfloat16))
    bf.grad = torch.tensor([float('nan'), 1.], dtype=torch.bfloat16)
    assert s.unscale_([bf]) is True
    static = LossScaler.from_cfg(128.)
    static.update(True)
    assert static.scale == 128. and not static.dynamic
    restored = LossScaler.from_cfg('dynamic')
    restored.load_state_dict(s.state_dict())
    assert restored.scale == 8.
    with pytest.raises(TypeError):
        LossScaler.from_cfg('static')


@cpu_only
@pytest.mark.parametrize('level', ['O0', 'O1', 'O2'])
def test_levels_train_and_skip_injected_inf(tmp_path, level):
    rec = RecordHook()
    runner = make_runner(
        str(tmp_path),
        dict(
            type='MixedPrecisionOptimWrapper',
            opt_level=level,
            loss_scale=dict(init_scale=1024., growth_interval=100),
            clip_grad=dict(max_norm=5.),
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        max_iters=4,
        custom_hooks=[rec,
                      dict(type=FaultInjectionHook, inf_grad_iters=[2])])
    runner.train()
    ow = runner.optim_wrapper
    assert isinstance(ow, MixedPrecisionOptimWrapper)
    # iteration 2 was skipped (weights unchanged), the others stepped
    assert rec.before[2] == rec.after[2]
    assert rec.before[1] != rec.after[1] and rec.before[3] != rec.after[3]
    assert ow.skipped_steps == 1 and ow.loss_scaler.scale == 512.
    hub = MessageHub.get_current_instance()
    assert hub.get_scalar('train/skipped_steps').current() == 1
    assert hub.get_scalar('train/loss_scale').current() == 512.
    assert 'train/grad_norm' in hub.log_scalars
    log = _log_text(str(tmp_path))
    assert 'NaN/inf gradients at iter 2, optimizer step skipped' in log
    assert 'loss scale 1024.0 -> 512.0' in log
    expected = {
        'O0': torch.float32,
        'O1': torch.bfloat16,
        'O2': torch.bfloat16
    }[level]
    assert set(rec.act_dtypes) == {expected}
    model = runner.model
    if level == 'O2':
        assert model.conv.weight.dtype == torch.bfloat16
        assert model.bn.weight.dtype == torch.float32  # fp32 BatchNorm
        masters = [p for g in ow.optimizer.param_groups for p in g['params']]
        assert all(p.dtype == torch.float32 for p in masters)
        assert not any(p is model.conv.weight for p in masters)
        for p, m in ow._master_pairs:
            assert torch.equal(p, m.to(p.dtype))
    else:
        assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(torch.isfinite(p).all() for p in model.parameters())


@cpu_only
def test_o2_resume_restores_fp32_masters(tmp_path):
    ow = dict(
        type='MixedPrecisionOptimWrapper',
        opt_level='O2',
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
    first = make_runner(str(tmp_path), ow, max_iters=3)
    first.train()
    saved = [m.detach().clone() for _, m in first.optim_wrapper._master_pairs]
    assert any(not torch.equal(m, m.bfloat16().float()) for m in saved), \
        'masters should carry more precision than the bf16 weights'
    second = make_runner(str(tmp_path), ow, max_iters=5, resume=True)
    seen = {}

    class Grab(Hook):

        def before_train(self, runner):
            seen['iter'] = runner.iter
            seen['masters'] = [
                m.detach().clone()
                for _, m in runner.optim_wrapper._master_pairs
            ]

    second.register_hook(Grab(), 'LOWEST')
    second.train()
    assert seen['iter'] == 3 and second.iter == 5
    for a, b in zip(saved, seen['masters']):
        assert torch.equal(a, b)


def test_o2_without_device_constructor_fails_clearly(tmp_path):
    from mmengine.registry import OPTIM_WRAPPERS
    model = ToyModel()
    ow = OPTIM_WRAPPERS.build(
        dict(
            type='MixedPrecisionOptimWrapper',
            opt_level='O2',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    with pytest.raises(RuntimeError, match='DeviceOptimWrapperConstructor'):
        with ow.optim_context(model):
            pass
    with pytest.raises(ValueError, match='opt_level'):
        OPTIM_WRAPPERS.build(
            dict(
                type='MixedPrecisionOptimWrapper',
                opt_level='O3',
                optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    with pytest.raises(ValueError, match='bfloat16 only'):
        OPTIM_WRAPPERS.build(
            dict(
                type='MixedPrecisionOptimWrapper',
                dtype='float16',
                optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))


@cpu_only
def test_upstream_amp_optim_wrapper_on_cpu(tmp_path):
    """What ``tools/train.py --amp`` selects works on CPU (bf16)."""
    rec = RecordHook()
    runner = make_runner(
        str(tmp_path),
        dict(
            type='AmpOptimWrapper',
            loss_scale='dynamic',
            optimizer=dict(type='SGD', lr=0.01)),
        max_iters=2,
        custom_hooks=[rec])
    runner.train()
    ow = runner.optim_wrapper
    assert ow.cast_dtype == torch.bfloat16
    assert ow.loss_scaler._device == 'cpu' and ow.loss_scaler.is_enabled()
    assert set(rec.act_dtypes) == {torch.bfloat16}
    assert rec.before[1] != rec.after[1]


@pytest.mark.slow
@pytest.mark.parametrize('level', ['O2'])
def test_o2_ddp_two_processes_rewrap(tmp_path, level):
    """O2 casts the bare model and wraps it for DDP again (gloo, 2 procs)."""
    cmd = [
        python_exe(), '-m', 'torch.distributed.run', '--nproc_per_node', '2',
        '--master_port',
        str(free_port()),
        osp.join(HERE, 'mmcv_patches_toy.py'),
        str(tmp_path), level, '3'
    ]
    env = dict(
        os.environ,
        PYTHONPATH=REPO_ROOT,
        OMP_NUM_THREADS='1',
        CUDA_VISIBLE_DEVICES='')
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    for rank in (0, 1):
        with open(osp.join(str(tmp_path), f'wrapper_rank{rank}.txt')) as f:
            assert f.read().strip() == (
                'wrapper DeviceDistributedDataParallel torch.bfloat16')
    from tests.testing import assert_ranks_identical, read_dist_checks
    checks = read_dist_checks(str(tmp_path))
    for stage in ('before_train', 'iter_1', 'iter_3', 'after_train'):
        assert_ranks_identical(checks, stage, world_size=2)
    assert checks[0]['hashes']['before_train'] != \
        checks[0]['hashes']['after_train']


@pytest.mark.parametrize('native', [True, False])
def test_emulated_cpu_bf16_is_named(native, monkeypatch):
    """CPU AMP warns (once per wrapper) where oneDNN emulates bf16, and only
    there; the CPU AMP wrappers call the check."""
    import mmcv_patches.amp as amp
    logged = []
    monkeypatch.setattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported',
                        lambda: native)
    monkeypatch.setattr(amp, 'print_log', lambda msg, **kw: logged.append(
        (msg, kw)))
    assert amp.warn_if_cpu_bf16_is_emulated() is (not native)
    model = torch.nn.Linear(2, 2)
    MixedPrecisionOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), opt_level='O1')
    MixedPrecisionOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), opt_level='O0')
    warned = [m for m, _ in logged if 'oneDNN emulates' in m]
    assert len(warned) == (0 if native else 2)  # the call above + the O1
