"""Helpers to run the training/testing tools in tests, for any config.

They start ``tools/train.py`` / ``tools/test.py`` (one process) or
``tools/dist_train.sh`` / ``tools/dist_test.sh`` (torchrun) in a
subprocess, and read back what
:class:`~mmcv_patches.hooks.DistributedCheckHook` and mmengine's logger
wrote. Nothing here needs pytest.

Example (two CPU processes over gloo, then checks)::

    res = run_tool('train', cfg, work_dir, nproc=2,
                   cfg_options=dict(train_cfg=dict(max_iters=2), ...),
                   dist_check=True)
    assert res.returncode == 0, res.output
    checks = read_dist_checks(work_dir)
    assert_ranks_identical(checks, 'after_train')
    assert_eval_gathered_once(checks, num_val_images)
"""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, Iterable, List, Optional, Sequence

from .hooks import FAULT_INJECTION_HOOK

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def python_exe() -> str:
    """``.venv/bin/python`` of this checkout if present, else this Python."""
    venv = osp.join(REPO_ROOT, '.venv', 'bin', 'python')
    return venv if osp.isfile(venv) else sys.executable


def free_port() -> int:
    """A TCP port that was free a moment ago (int)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _fmt(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, tuple):
        return '(' + ','.join(_fmt(v) for v in value) + \
            (',)' if len(value) == 1 else ')')
    if isinstance(value, list):
        return '[' + ','.join(_fmt(v) for v in value) + ']'
    return repr(value)


def flatten_cfg_options(options: Optional[dict],
                        prefix: str = '') -> List[str]:
    """``--cfg-options`` arguments for a nested dict.

    Nested dicts become dotted keys; lists/tuples become ``[a,b]``/``(a,b)``
    (use a str for anything :class:`mmengine.config.DictAction` should get
    verbatim).

    Args:
        options (dict, optional): e.g. ``dict(train_cfg=dict(max_iters=2))``.
        prefix (str): key prefix (internal).

    Returns:
        list[str]: ``['train_cfg.max_iters=2', ...]``.
    """
    out = []
    for key, value in (options or {}).items():
        name = f'{prefix}{key}'
        if isinstance(value, dict) and value:
            out += flatten_cfg_options(value, name + '.')
        else:
            out.append(f'{name}={_fmt(value)}')
    return out


class ToolResult:
    """Outcome of :func:`run_tool`: ``returncode``, ``output``, ``cmd``."""

    def __init__(self, cmd: List[str], returncode: int, output: str):
        self.cmd = cmd
        self.returncode = returncode
        self.output = output

    def __repr__(self) -> str:
        return (f'ToolResult(returncode={self.returncode}, cmd={self.cmd},\n'
                f'output tail:\n{self.output[-6000:]})')


DIST_CHECK_HOOK = dict(type='DistributedCheckHook')


def tiny_run_options(opts: dict, split_opts: Optional[dict]) -> dict:
    """``opts`` plus what every tiny CPU test run sets: data loaders in the
    main process, a log line every iteration, no drawing.

    Args:
        opts (dict): the run's own overrides (dotted keys).
        split_opts (dict, optional): overrides applied to both ``val`` and
            ``test``, keys below ``<split>_`` (e.g.
            ``'dataloader.dataset.data_root'``); None switches validation
            off.

    Returns:
        dict: the merged overrides.
    """
    loader = dict(num_workers=0, persistent_workers=False)
    out = dict(opts)
    out.update({
        'default_hooks.logger.interval': 1,
        'default_hooks.visualization.draw': False,
    })
    splits = ('train', ) if split_opts is None else ('train', 'val', 'test')
    for split in splits:
        out.update({f'{split}_dataloader.{k}': v for k, v in loader.items()})
    if split_opts is None:
        out.update({
            'val_dataloader': None,
            'val_cfg': None,
            'val_evaluator': None
        })
    else:
        for split in ('val', 'test'):
            out.update({f'{split}_{k}': v for k, v in split_opts.items()})
    return out


def run_tool(tool: str,
             config: str,
             work_dir: str,
             *,
             nproc: Optional[int] = None,
             checkpoint: Optional[str] = None,
             cfg_options: Optional[dict] = None,
             args: Sequence[str] = (),
             dist_check: bool = False,
             fault: Optional[dict] = None,
             env: Optional[Dict[str, str]] = None,
             cpu_only: bool = True,
             timeout: float = 600) -> ToolResult:
    """Run ``tools/train.py``/``test.py`` or their ``dist_*.sh`` wrappers.

    Args:
        tool (str): ``'train'`` or ``'test'``.
        config (str): config path.
        work_dir (str): passed as ``--work-dir``.
        nproc (int, optional): processes for ``tools/dist_<tool>.sh``;
            None runs the single-process tool.
        checkpoint (str, optional): checkpoint for ``test``.
        cfg_options (dict, optional): see :func:`flatten_cfg_options`.
        args (Sequence[str]): more tool arguments (``--resume``, ``--amp``).
        dist_check (bool): add :class:`DistributedCheckHook` as
            ``default_hooks.dist_check``.
        fault (dict, optional): :class:`~tests.testing.hooks.
            FaultInjectionHook` arguments, added as ``default_hooks.fault``
            (built from its import path: the repository root is on the
            run's ``PYTHONPATH``).
        env (dict, optional): extra environment variables.
        cpu_only (bool): hide CUDA devices (``CUDA_VISIBLE_DEVICES=''``) so
            the run is the same on any machine. Defaults to True.
        timeout (float): seconds before the run is killed.

    Returns:
        ToolResult: return code and combined stdout/stderr.
    """
    assert tool in ('train', 'test'), tool
    options = dict(cfg_options or {})
    hooks = dict(options.get('default_hooks', {}) or {})
    if dist_check:
        hooks['dist_check'] = dict(DIST_CHECK_HOOK)
    if fault:
        hooks['fault'] = dict(fault, type=FAULT_INJECTION_HOOK)
    if hooks:
        options['default_hooks'] = hooks
    tail = [] if checkpoint is None else [checkpoint]
    if nproc is None:
        cmd = [
            python_exe(),
            osp.join(REPO_ROOT, 'tools', f'{tool}.py'), config
        ] + tail
    else:
        script = osp.join(REPO_ROOT, 'tools', f'dist_{tool}.sh')
        cmd = ['bash', script, config, str(nproc)] + tail
    cmd += ['--work-dir', work_dir] + list(args)
    flat = flatten_cfg_options(options)
    if flat:
        cmd += ['--cfg-options'] + flat
    run_env = dict(os.environ)
    run_env['PYTHONPATH'] = REPO_ROOT + (
        os.pathsep +
        run_env['PYTHONPATH'] if run_env.get('PYTHONPATH') else '')
    run_env.setdefault('OMP_NUM_THREADS', '1')
    # a crash in a rank prints every thread's Python stack
    run_env.setdefault('PYTHONFAULTHANDLER', '1')
    if cpu_only:
        run_env['CUDA_VISIBLE_DEVICES'] = ''
    if nproc is not None:
        run_env['PORT'] = str(free_port())
    run_env.update(env or {})
    try:
        proc = subprocess.run(
            cmd,
            cwd=REPO_ROOT,
            env=run_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout)
        result = ToolResult(cmd, proc.returncode, proc.stdout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout
                                                                     or '')
        result = ToolResult(cmd, -999, out + f'\n[timed out after {timeout}s]')
    if result.returncode != 0:
        # the whole log, for pytest's "Captured stdout" of a failing test
        print(f'--- {" ".join(cmd)} exited with {result.returncode} ---')
        print(result.output)
    return result


def load_script(rel_path: str, name: Optional[str] = None):
    """Import a script of the checkout (e.g. ``'tools/infer.py'``) as a
    module, from its file.

    Args:
        rel_path (str): Path relative to the repository root.
        name (str, optional): Module name. Defaults to one derived from
            ``rel_path``.

    Returns:
        module: The executed module.
    """
    import importlib.util
    name = name or '_script_' + rel_path[:-3].replace('/', '_')
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO_ROOT, rel_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool_in_process(tool: str, args: Sequence[str]) -> None:
    """Run ``tools/<tool>.py ARGS`` (``'train'`` or ``'test'``: mmdet's
    stock script through the project's wrapper) in this process.

    Faster than :func:`run_tool` (no interpreter start); it raises what the
    tool raises (``SystemExit`` for its one-line errors).

    Args:
        tool (str): ``'train'`` or ``'test'``.
        args (Sequence[str]): The command line after the script.
    """
    assert tool in ('train', 'test'), tool
    wrapper = load_script('tools/train.py', '_tools_train_in_process')
    argv = sys.argv
    sys.argv = [f'tools/{tool}.py'] + [str(a) for a in args]
    try:
        wrapper.main(f'{tool}.py')
    finally:
        sys.argv = argv


def read_dist_checks(work_dir: str) -> Dict[int, dict]:
    """rank -> record of :class:`DistributedCheckHook` in ``work_dir``."""
    checks = {}
    for path in glob.glob(osp.join(work_dir, 'dist_check_rank*.json')):
        with open(path) as f:
            rec = json.load(f)
        checks[int(rec['rank'])] = rec
    return checks


def assert_ranks_identical(checks: Dict[int, dict],
                           stage: str,
                           world_size: Optional[int] = None) -> str:
    """Assert all ranks recorded the same weight hash at ``stage``.

    Args:
        checks (dict): :func:`read_dist_checks` output.
        stage (str): e.g. ``'after_train'``.
        world_size (int, optional): expected number of ranks.

    Returns:
        str: the common hash.
    """
    if world_size is not None:
        assert sorted(checks) == list(range(world_size)), sorted(checks)
    hashes = {r: c['hashes'].get(stage) for r, c in checks.items()}
    assert None not in hashes.values(), f'missing {stage}: {hashes}'
    assert len(set(hashes.values())) == 1, f'ranks differ at {stage}: ' \
        f'{hashes}'
    assert all(c['equal'][stage] for c in checks.values())
    return next(iter(hashes.values()))


def assert_trained_in_step(checks: Dict[int, dict],
                           num_val: int,
                           world_size: int = 2) -> List[dict]:
    """Assert a distributed training run kept its ranks in step.

    All ``world_size`` ranks started and ended with the same weights, the
    weights changed, and every validation was computed once, on rank 0,
    over all ``num_val`` images (:func:`assert_eval_gathered_once`).

    Args:
        checks (dict): :func:`read_dist_checks` output.
        num_val (int): size of the validation set.
        world_size (int): number of ranks. Defaults to 2.

    Returns:
        list[dict]: rank 0's validation records.
    """
    assert_ranks_identical(checks, 'before_train', world_size=world_size)
    final = assert_ranks_identical(
        checks, 'after_train', world_size=world_size)
    assert final != checks[0]['hashes']['before_train']  # it trained
    return assert_eval_gathered_once(checks, num_val, 'val')


def assert_eval_gathered_once(checks: Dict[int, dict],
                              num_samples: int,
                              mode: str = 'val') -> List[dict]:
    """Assert each evaluation was computed once, on rank 0, on all samples.

    Every rank ran a share of the samples (summing to ``num_samples``),
    only rank 0 called ``compute_metrics`` (once per metric, with all
    ``num_samples`` results), and all ranks report the same metrics.

    Args:
        checks (dict): :func:`read_dist_checks` output.
        num_samples (int): size of the evaluation set.
        mode (str): ``'val'`` or ``'test'``.

    Returns:
        list[dict]: rank 0's evaluation records.
    """
    evals = {
        r: [e for e in c['evals'] if e['mode'] == mode]
        for r, c in checks.items()
    }
    counts = {len(v) for v in evals.values()}
    assert len(counts) == 1 and counts != {0}, evals
    for i in range(counts.pop()):
        per_rank = {r: v[i] for r, v in evals.items()}
        assert sum(e['samples'] for e in per_rank.values()) == num_samples, \
            per_rank
        sizes0 = per_rank[0]['compute_sizes']
        assert sizes0 and all(s == num_samples for s in sizes0), per_rank
        for r, e in per_rank.items():
            if r != 0:
                assert e['compute_sizes'] == [], per_rank
            assert e['metrics'] == per_rank[0]['metrics'], per_rank
    return evals[0]


def latest_run_dir(work_dir: str) -> str:
    """The newest ``<timestamp>/`` run directory mmengine made."""
    runs = sorted(
        d for d in glob.glob(osp.join(work_dir, '*'))
        if osp.isdir(d) and osp.isdir(osp.join(d, 'vis_data')))
    if not runs:
        raise FileNotFoundError(f'no run directory in {work_dir}')
    return runs[-1]


def read_scalars(run_dir: str) -> List[dict]:
    """Records of ``vis_data/scalars.json`` (one dict per logged step)."""
    path = osp.join(run_dir, 'vis_data', 'scalars.json')
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def checkpoint_digest(path: str) -> str:
    """Hash of a checkpoint's ``state_dict`` (see ``state_dict_digest``).

    Loads through mmengine's ``_load_checkpoint`` (the weights-only path
    the runner uses).
    """
    from mmengine.runner.checkpoint import _load_checkpoint

    from mmcv_patches.hooks import state_dict_digest
    ckpt = _load_checkpoint(path, map_location='cpu')
    return state_dict_digest(ckpt.get('state_dict', ckpt))


def expected_lrs(param_scheduler: Iterable[dict],
                 base_lr: float,
                 iters: int,
                 iters_per_epoch: int = 1 << 30) -> List[float]:
    """Learning rate of each of the first ``iters`` iterations.

    Steps mmengine's schedulers on a dummy SGD optimizer the way
    ``ParamSchedulerHook`` does (iteration-based and
    ``convert_to_iter_based`` ones every iteration, epoch-based ones every
    ``iters_per_epoch``).

    Args:
        param_scheduler (Iterable[dict]): the config's ``param_scheduler``.
        base_lr (float): the optimizer's lr.
        iters (int): number of iterations.
        iters_per_epoch (int): iterations per epoch (for epoch schedulers).

    Returns:
        list[float]: lr used in iteration 1, 2, ...
    """
    import copy

    import torch
    from mmengine.registry import PARAM_SCHEDULERS
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    scheds = []
    for cfg in param_scheduler:
        cfg = copy.deepcopy(dict(cfg))
        cfg.pop('_scope_', None)
        # convert_to_iter_based schedulers step every iteration
        by_epoch = cfg.get(
            'by_epoch', True) and not cfg.get('convert_to_iter_based', False)
        sched = PARAM_SCHEDULERS.build(
            cfg,
            default_args=dict(optimizer=opt, epoch_length=iters_per_epoch))
        scheds.append((sched, by_epoch))
    lrs = []
    for i in range(iters):
        lrs.append(opt.param_groups[0]['lr'])
        for s, by_epoch in scheds:
            if not by_epoch or (i + 1) % iters_per_epoch == 0:
                s.step()
    return lrs


def last_checkpoint(work_dir: str) -> str:
    """Path in ``work_dir/last_checkpoint`` (what ``--resume`` picks)."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        path = f.read().strip()
    return path if osp.isabs(path) else osp.join(work_dir, path)


def kill_and_resume(config: str,
                    work_dir: str,
                    kill_after_iter: int,
                    *,
                    cfg_options: Optional[dict] = None,
                    nproc: Optional[int] = None,
                    resume_args: Sequence[str] = ('--resume', ),
                    cpu_only: bool = True,
                    timeout: float = 600) -> dict:
    """Train until SIGKILL after ``kill_after_iter``, then ``--resume``.

    The first run gets :class:`FaultInjectionHook` (``kill_after_iter``);
    both runs get :class:`DistributedCheckHook` with ``buffers=True``, so
    the resumed run records the hash of the weights it loaded
    (``before_train``), comparable with :func:`checkpoint_digest`. Log every
    iteration (``default_hooks.logger.interval=1``) to compare learning
    rates.

    Args:
        config (str): config path.
        work_dir (str): shared work dir of both runs.
        kill_after_iter (int): 1-based iteration after which to kill.
        cfg_options (dict, optional): overrides for both runs.
        nproc (int, optional): use ``tools/dist_train.sh`` with this many
            processes.
        resume_args (Sequence[str]): how the second run resumes.
        cpu_only (bool): see :func:`run_tool`.
        timeout (float): per run.

    Returns:
        dict: ``first``/``second`` (:class:`ToolResult`), ``checkpoint``
        (what the second run resumed from), ``checkpoint_digest``,
        ``loaded_digest`` (rank 0 before training), ``first_scalars`` and
        ``second_scalars`` (:func:`read_scalars` of each run).
    """
    options = dict(cfg_options or {})
    hooks = dict(options.pop('default_hooks', {}) or {})
    # BatchNorm statistics are per rank (broadcast_buffers=False)
    hooks['dist_check'] = dict(
        type='DistributedCheckHook', buffers=True, strict=False)
    options['default_hooks'] = hooks
    first = run_tool(
        'train',
        config,
        work_dir,
        nproc=nproc,
        cfg_options=options,
        fault=dict(kill_after_iter=kill_after_iter),
        cpu_only=cpu_only,
        timeout=timeout)
    out = dict(first=first)
    first_dir = latest_run_dir(work_dir)
    out['first_scalars'] = read_scalars(first_dir)
    ckpt = last_checkpoint(work_dir)
    out['checkpoint'] = ckpt
    out['checkpoint_digest'] = checkpoint_digest(ckpt)
    second = run_tool(
        'train',
        config,
        work_dir,
        nproc=nproc,
        cfg_options=options,
        args=list(resume_args),
        cpu_only=cpu_only,
        timeout=timeout)
    out['second'] = second
    second_dir = latest_run_dir(work_dir)
    assert second_dir != first_dir, 'the resumed run made no new run dir'
    out['second_scalars'] = read_scalars(second_dir)
    checks = read_dist_checks(work_dir)
    out['loaded_digest'] = checks.get(0, {}).get('hashes',
                                                 {}).get('before_train')
    return out


def widerface_options(root: str,
                      batch_size: int = 4,
                      epochs: int = 1,
                      val: bool = True) -> dict:
    """:func:`tiny_run_options` of a tiny WIDER-format data set at ``root``
    (the ``tiny_widerface`` fixture): its train / val / test data, batch
    size, epochs and validation at the end (or none).

    Args:
        root (str): Data set folder.
        batch_size (int): Train batch size. Defaults to 4.
        epochs (int): Training epochs. Defaults to 1.
        val (bool): Validate (with the WIDER metric) at the end.

    Returns:
        dict: ``--cfg-options`` overrides.
    """
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
