"""Checkpoints that survive a kill, and a clear word about damaged ones.

Patches (see ``docs/reproducibility.md``):

* ``checkpoint_io.atomic_save`` - mmengine's ``save_checkpoint`` writes a
  local checkpoint to a hidden temporary file in the same folder, syncs it
  and renames it over the target, so a killed write never leaves a
  truncated ``.pth`` under the checkpoint's name.
* ``checkpoint_io.save_order`` - ``CheckpointHook`` writes the new
  checkpoint first, then ``last_checkpoint`` (atomically), and only then
  deletes the checkpoints beyond ``max_keep_ckpts``.
* ``checkpoint_io.resume_check`` - ``--resume`` checks the checkpoint it is
  about to load; a damaged one stops the run with one message naming the
  file, and only ``reproducibility.resume_fallback=True`` makes an
  automatic resume take the newest intact checkpoint instead.
"""
import glob
import logging
import os
import os.path as osp
import zipfile
from typing import Callable, List, Optional

import torch

from ._patching import original, patch, replace_attr
from .checkpoint import CheckpointLoadError, _check_file, safe_load


class CheckpointError(CheckpointLoadError):
    """A checkpoint to resume from is missing or damaged: one line that
    names the file and says what to do (``tools/train.py`` prints it and
    exits 1, as for any :class:`~mmcv_patches.CheckpointLoadError`)."""


def atomic_write(path: str, write: Callable) -> None:
    """Write ``path`` through a temporary file renamed over it.

    The file appears complete or not at all (also after SIGKILL or a power
    loss: data and directory entry are synced). A temporary file left by a
    killed earlier write of the same path is removed.

    Args:
        path (str): target file.
        write (callable): ``write(f)`` writes the content to a binary file
            object.
    """
    folder, name = osp.split(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    prefix = f'.{name}.tmp-'
    for stale in glob.glob(osp.join(glob.escape(folder), prefix + '*')):
        try:
            os.remove(stale)
        except OSError:
            pass
    tmp = osp.join(folder, f'{prefix}{os.getpid()}')
    try:
        with open(tmp, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. directories cannot be opened on this platform
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _save_checkpoint(checkpoint,
                     filename,
                     file_client_args=None,
                     backend_args=None):
    """mmcv_patches replacement of ``mmengine.runner.save_checkpoint``.

    Upstream gap (mmengine 0.10.7): the bytes are written straight into the
    target file; a process killed during the write leaves a truncated
    checkpoint under the final name (and ``last_checkpoint`` may already
    name it on the next write). Local files are written with
    :func:`atomic_write`; other back ends (``pavi://``, object stores) and
    ``file_client_args`` go to upstream.
    """
    from mmengine.fileio import LocalBackend, get_file_backend
    upstream = original(_save_checkpoint)
    if file_client_args is not None or str(filename).startswith('pavi://'):
        return upstream(checkpoint, filename, file_client_args, backend_args)
    backend = get_file_backend(filename, backend_args=backend_args)
    if not isinstance(backend, LocalBackend):
        return upstream(checkpoint, filename, file_client_args, backend_args)
    atomic_write(str(filename), lambda f: torch.save(checkpoint, f))


def _save_checkpoint_with_step(self, runner, step, meta):
    """mmcv_patches replacement of ``CheckpointHook``'s
    ``_save_checkpoint_with_step``.

    Upstream gap: with ``max_keep_ckpts`` the oldest checkpoint is deleted
    before the new one is written and ``last_checkpoint`` is rewritten in
    place: a kill in between can leave no checkpoint to resume from
    (``max_keep_ckpts=1``) or an empty ``last_checkpoint``. Same steps and
    bookkeeping, in the order new checkpoint -> ``last_checkpoint``
    (atomic) -> deletions.
    """
    from mmengine.dist import is_main_process
    outdated = []
    if self.max_keep_ckpts > 0:
        # _save_checkpoint and _save_best_checkpoint may both get here
        if not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

    ckpt_filename = self.filename_tmpl.format(step)
    self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
    runner.message_hub.update_info('last_ckpt', self.last_ckpt)

    runner.save_checkpoint(
        self.out_dir,
        ckpt_filename,
        self.file_client_args,
        save_optimizer=self.save_optimizer,
        save_param_scheduler=self.save_param_scheduler,
        meta=meta,
        by_epoch=self.by_epoch,
        backend_args=self.backend_args,
        **self.args)

    if not is_main_process():
        return
    latest = str(self.last_ckpt).encode()
    atomic_write(
        osp.join(runner.work_dir, 'last_checkpoint'),
        lambda f: f.write(latest))
    for old in outdated:
        path = self.file_backend.join_path(self.out_dir,
                                           self.filename_tmpl.format(old))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            # checkpoints saved by deepspeed are directories
            self.file_backend.rmtree(path)


def checkpoint_problem(path: str) -> Optional[str]:
    """What is wrong with a local checkpoint file, or None if it is intact.

    The file checks of :func:`~mmcv_patches.checkpoint.safe_load` (missing,
    a directory, empty, truncated, another format), then for a zip
    checkpoint (torch >= 1.6) the CRC of every member (a flipped byte
    inside a tensor is found too); any other file must load with
    :func:`~mmcv_patches.checkpoint.safe_load`.

    Args:
        path (str): checkpoint path.

    Returns:
        str | None: one line naming the file, e.g. ``'checkpoint x.pth is
        truncated or corrupt: ...'``.
    """
    try:
        if _check_file(path) != 'zip':
            safe_load(path)
            return None
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except CheckpointLoadError as e:
        return str(e)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        return f'checkpoint {path} is corrupt ({e})'
    if bad is not None:
        return (f'checkpoint {path} is corrupt: its member {bad} fails the '
                'CRC check')
    return None


def resume_candidates(folder: str) -> List[str]:
    """``*.pth`` files in ``folder``, newest first (list[str]).

    Hidden files (temporary files of interrupted writes) are left out.
    """
    paths = [
        p for p in glob.glob(osp.join(glob.escape(folder), '*.pth'))
        if osp.isfile(p)
    ]
    return sorted(paths, key=lambda p: (osp.getmtime(p), p), reverse=True)


def _is_local(path: str) -> bool:
    return '://' not in str(path)


def _load_or_resume(self):
    """mmcv_patches replacement of ``Runner.load_or_resume``.

    Upstream gap: ``--resume`` hands whatever ``last_checkpoint`` names to
    ``torch.load``; a truncated or missing file ends in a zip-reader
    traceback that does not say which file, and an empty
    ``last_checkpoint`` is taken for a path. Here a local checkpoint to
    resume from is checked first (:func:`checkpoint_problem`):

    * ``--resume CHECKPOINT`` (explicit): a damaged file raises
      :class:`CheckpointError` naming it; nothing else is tried.
    * ``--resume`` (latest): a damaged latest checkpoint raises
      :class:`CheckpointError` naming it and the newest intact checkpoint
      of the folder; with ``reproducibility.resume_fallback=True`` the run
      resumes from that one instead, with a warning.

    Nothing is deleted or rewritten. ``load_from`` without ``--resume`` and
    remote paths go to upstream unchanged.
    """
    from mmengine.logging import print_log
    from mmengine.runner.checkpoint import find_latest_checkpoint

    from .reproducible import reproducibility_options
    upstream = original(_load_or_resume)
    if self._has_loaded or not self._resume:
        return upstream(self)
    if self._load_from is not None:
        path = str(self._load_from)
        problem = checkpoint_problem(path) if _is_local(path) else None
        if problem:
            raise CheckpointError(
                f'cannot resume: {problem}. No file was changed.')
        return upstream(self)
    latest = find_latest_checkpoint(self.work_dir)
    if latest is None or not _is_local(latest):
        return upstream(self)
    named_by = osp.join(self.work_dir, 'last_checkpoint')
    if latest:
        problem = checkpoint_problem(latest)
        if problem is None:
            return upstream(self)
        what = f'the latest checkpoint, named by {named_by}: {problem}'
    else:
        what = f'{named_by} is empty'
    folder = osp.dirname(latest) or self.work_dir
    fallback = next((c for c in resume_candidates(folder)
                     if osp.abspath(c) != osp.abspath(latest)
                     and checkpoint_problem(c) is None), None)
    if fallback is None or not reproducibility_options(
            self.cfg)['resume_fallback']:
        if fallback is None:
            hint = f'there is no intact checkpoint in {folder} to fall back to'
        else:
            hint = ('add --cfg-options reproducibility.resume_fallback=True '
                    f'to resume from the newest intact one, {fallback}')
        raise CheckpointError(
            f'cannot resume from {what}. No file was changed. Resume from '
            f'a checkpoint you name with --resume CHECKPOINT, or {hint}.')
    print_log(
        f'not resuming from {what}; resuming from the newest intact '
        f'checkpoint {fallback} (reproducibility.resume_fallback=True)',
        logger='current',
        level=logging.WARNING)
    self._load_from = fallback
    return upstream(self)


@patch('checkpoint_io.atomic_save')
def patch_atomic_save():
    """Install :func:`_save_checkpoint` where mmengine looks it up."""
    import mmengine.runner as runner_pkg
    from mmengine.runner import checkpoint, runner
    if not replace_attr(checkpoint, 'save_checkpoint', _save_checkpoint):
        return 'already patched'
    # the names bound by `from .checkpoint import save_checkpoint`
    runner.save_checkpoint = _save_checkpoint
    runner_pkg.save_checkpoint = _save_checkpoint
    return True


@patch('checkpoint_io.save_order')
def patch_save_order():
    """Install :func:`_save_checkpoint_with_step` on ``CheckpointHook``."""
    from mmengine.hooks import CheckpointHook
    return replace_attr(CheckpointHook, '_save_checkpoint_with_step',
                        _save_checkpoint_with_step) or 'already patched'


@patch('checkpoint_io.resume_check')
def patch_resume_check():
    """Install :func:`_load_or_resume` on ``Runner``."""
    from mmengine.runner import Runner
    return replace_attr(Runner, 'load_or_resume', _load_or_resume) or \
        'already patched'
