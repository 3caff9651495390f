"""Atomic checkpoint writes, save order and damaged checkpoints on
``--resume`` (mmcv_patches.checkpoint_io)."""
import glob
import hashlib
import os
import os.path as osp
import subprocess

import pytest
import torch
from mmcv_patches_toy import make_runner

import mmcv_patches
from mmcv_patches import CheckpointError, atomic_write, checkpoint_problem
from tests.testing import REPO_ROOT, python_exe


def checkpoint_files(folder):
    """name -> sha256 of the checkpoints, temporary files and
    ``last_checkpoint`` in ``folder``."""
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith('.pth') or name.startswith('.') or \
                name == 'last_checkpoint':
            with open(osp.join(folder, name), 'rb') as f:
                out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


def test_patches_are_reported():
    report = mmcv_patches.patch_report()
    for name in ('checkpoint_io.atomic_save', 'checkpoint_io.save_order',
                 'checkpoint_io.resume_check'):
        assert report[name] == 'applied'


def test_write_killed_before_rename_leaves_the_old_file(tmp_path):
    target = tmp_path / 'iter_3.pth'
    target.write_bytes(b'old checkpoint')
    # SIGKILL in the middle of the write (after the bytes, before rename)
    code = ('import os, signal, sys\n'
            'import mmcv_patches.checkpoint_io as io\n'
            'def killed(fd):\n'
            '    os.kill(os.getpid(), signal.SIGKILL)\n'
            'io.os.fsync = killed\n'
            'io.atomic_write(sys.argv[1], lambda f: f.write(b"new" * 1000))\n')
    proc = subprocess.run(
        [python_exe(), '-c', code, str(target)],
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT),
        capture_output=True,
        timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert target.read_bytes() == b'old checkpoint'
    stale = glob.glob(str(tmp_path / '.iter_3.pth.tmp-*'))
    assert len(stale) == 1  # hidden: no *.pth glob picks it up
    atomic_write(str(target), lambda f: f.write(b'new'))
    assert target.read_bytes() == b'new'
    assert os.listdir(tmp_path) == ['iter_3.pth']


def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """max_keep_ckpts=1: upstream deletes iter_3 before writing iter_6; a
    failed write then leaves nothing to resume from."""
    real_save = torch.save
    calls = []

    def disk_full(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            f.write(b'partial')
            raise OSError(28, 'No space left on device')
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, 'save', disk_full)
    runner = make_runner(
        str(tmp_path), max_iters=6, ckpt_interval=3, max_keep_ckpts=1)
    with pytest.raises(OSError, match='No space left'):
        runner.train()
    monkeypatch.undo()
    assert [
        n for n in os.listdir(tmp_path)
        if n.endswith('.pth') or n.startswith('.')
    ] == ['iter_3.pth']
    with open(tmp_path / 'last_checkpoint') as f:
        assert f.read() == str(tmp_path / 'iter_3.pth')
    assert checkpoint_problem(str(tmp_path / 'iter_3.pth')) is None


@pytest.fixture
def two_checkpoints(tmp_path):
    """A toy run with iter_3.pth and iter_6.pth; the latest truncated."""
    runner = make_runner(str(tmp_path), max_iters=6, ckpt_interval=3)
    runner.train()
    latest = tmp_path / 'iter_6.pth'
    data = latest.read_bytes()
    latest.write_bytes(data[:len(data) // 2])
    return tmp_path


def test_checkpoint_problem(two_checkpoints, tmp_path):
    assert checkpoint_problem(str(two_checkpoints / 'iter_3.pth')) is None
    latest = two_checkpoints / 'iter_6.pth'
    assert checkpoint_problem(
        str(latest)).startswith(f'checkpoint {latest} is truncated')
    assert checkpoint_problem(str(tmp_path / 'nope.pth')) == \
        f'checkpoint not found: {tmp_path}/nope.pth'
    (tmp_path / 'empty.pth').write_bytes(b'')
    assert checkpoint_problem(str(tmp_path / 'empty.pth')).startswith(
        f'checkpoint {tmp_path}/empty.pth is empty (0 bytes)')
    # a flipped byte inside a member: the zip CRC check finds it
    data = bytearray((two_checkpoints / 'iter_3.pth').read_bytes())
    data[len(data) // 3] ^= 0xFF
    (tmp_path / 'flipped.pth').write_bytes(bytes(data))
    assert checkpoint_problem(str(
        tmp_path / 'flipped.pth')).endswith('fails the CRC check')


def test_damaged_latest_is_named_and_nothing_changes(two_checkpoints):
    work = str(two_checkpoints)
    before = checkpoint_files(work)
    runner = make_runner(work, max_iters=9, ckpt_interval=3, resume=True)
    with pytest.raises(CheckpointError) as err:
        runner.train()
    msg = str(err.value)
    assert msg.startswith(
        f'cannot resume from the latest checkpoint, named by {work}/last_'
        f'checkpoint: checkpoint {work}/iter_6.pth is truncated'), msg
    assert 'No file was changed' in msg
    assert 'reproducibility.resume_fallback=True' in msg
    assert f'{work}/iter_3.pth' in msg
    assert checkpoint_files(work) == before

    # explicit path: named, no fallback even when allowed
    runner = make_runner(
        work,
        max_iters=9,
        resume=True,
        load_from=f'{work}/iter_6.pth',
        cfg=dict(reproducibility=dict(resume_fallback=True)))
    with pytest.raises(
            CheckpointError,
            match=f'^cannot resume: checkpoint {work}/iter_6.pth is trunc'):
        runner.train()
    assert checkpoint_files(work) == before

    # asked for: resume from the newest intact one
    runner = make_runner(
        work,
        max_iters=9,
        ckpt_interval=3,
        resume=True,
        cfg=dict(reproducibility=dict(resume_fallback=True)))
    runner.train()
    assert runner.iter == 9
    assert checkpoint_problem(f'{work}/iter_6.pth') is None  # rewritten


def test_empty_last_checkpoint(tmp_path):
    runner = make_runner(str(tmp_path), max_iters=3, ckpt_interval=3)
    runner.train()
    (tmp_path / 'last_checkpoint').write_text('')
    runner = make_runner(str(tmp_path), max_iters=6, resume=True)
    with pytest.raises(CheckpointError, match='last_checkpoint is empty'):
        runner.train()
