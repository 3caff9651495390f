#!/usr/bin/env python
"""One-shot accelerator check: install, GPU speed targets, AMP training,
test-loop equality; one JSON + one log.

Made for a short lease on a machine with a GPU, Python and torch but no
mmcv / mmengine / mmdet and no network (``docs/benchmarks.md``): the wheels
travel in ``.whl/`` (``make device-wheels`` fills it here). Steps, each in a
subprocess with its own time limit, the whole run within ``--budget``
seconds:

1. ``install``: the carried wheels into ``--site`` (``--mmcv lite``: the
   pure-Python mmcv-lite, whose compiled ops ``mmcv_patches`` replaces by
   pure-torch ones; ``--mmcv build``: mmcv built there from the carried
   sdist with CPU ops only; ``--mmcv installed``: nothing);
2. ``env``: imports, versions, ``torch.cuda.is_available()``, the GPU,
   ``mmcv_patches.patch_report()``;
3. ``data``: the bundled synthetic WIDER-format data set, generated when
   absent;
4. ``bench_mnet``: ``tools/analysis_tools/benchmark_speed.py`` for
   RetinaFace-MobileNet0.25 with AMP + channels-last: VGA batch 1 end to
   end, batch 32, training at 640 with the real data pipeline;
5. ``bench_r50``: the same tool, RetinaFace-R50 training at 840;
6. ``train_amp``: stock ``tools/train.py --amp`` on the demo config for
   ``--train-iters`` (50) iterations: every loss finite, the loss falls;
7. ``equal``: ``tools/test.py`` with that checkpoint vs
   ``mmdet_faces.apis.FaceDetector`` on the same images (same boxes,
   scores and landmarks; the results pickle read through an allow-list),
   and ``FaceDetector(batch_size=32)`` with the batched predict path vs
   the per-image path on the same batches (identical detections; the dry
   run forces the batched path on CPU);
8. ``dist_train``: ``tools/dist_train.sh`` for a few iterations, 2
   processes when there are 2 GPUs, else 1 (NCCL refuses two ranks on one
   GPU).

``--dry-run`` runs every step on this machine's CPU with tiny sizes and
iteration counts (the checks that need a GPU are recorded as skipped): the
test suite runs it. Results: ``OUT/device_check.json`` (every step's
command, time, result; the four GPU targets with the measured figures)
and ``OUT/device_check.log`` (all output), ``OUT`` from ``--out`` or
``$OUT``.

Example (on the device machine; ``.whl`` carried)::

    bash tools/device_check.sh            # = python3 tools/device_check.py
    python tools/device_check.py --dry-run --out work_dirs/device_check
    python tools/device_check.py --prepare-wheels .whl   # here, with network
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MIB = 1 << 20
#: what travels to the device machine at most (its tool's limit)
TRAVEL_LIMIT = 64 * MIB
#: (distribution, import name) of the pure-Python wheels to carry
PURE_WHEELS = [('mmengine', 'mmengine'), ('mmdet', 'mmdet'),
               ('addict', 'addict'), ('yapf', 'yapf'),
               ('platformdirs', 'platformdirs'), ('termcolor', 'termcolor'),
               ('terminaltables', 'terminaltables')]
#: compiled wheels (Python 3.12, manylinux x86-64)
BINARY_WHEELS = [('pycocotools', 'pycocotools'), ('shapely', 'shapely')]
DEVICE_PYTHON = '3.12'
PLATFORMS = ('manylinux_2_28_x86_64', 'manylinux_2_27_x86_64',
             'manylinux_2_17_x86_64', 'manylinux2014_x86_64',
             'manylinux1_x86_64')
#: GPU targets (docs/benchmarks.md): key, what, bound, unit, higher better
TARGETS = [
    ('r50_train', 'RetinaFace-R50 training, 840x840, AMP, data pipeline '
     'included', 400., 'img/s', True),
    ('mnet_train', 'RetinaFace-MobileNet0.25 training, 640x640, AMP, data '
     'pipeline included', 1500., 'img/s', True),
    ('mnet_vga_b1', 'RetinaFace-MobileNet0.25, VGA, batch 1, end to end', 3.,
     'ms', False),
    ('mnet_vga_b32', 'RetinaFace-MobileNet0.25, VGA, batch 32, end to end',
     3000., 'img/s', True),
]
DEMO_CFG = ('configs/retinaface/'
            'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')
GEN_DATA = 'tools/dataset_converters/gen_synthetic_widerface.py'
BENCH = 'tools/analysis_tools/benchmark_speed.py'


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='One-shot accelerator check (see module docstring)')
    p.add_argument(
        '--out',
        default=os.environ.get('OUT'),
        help='output folder (default $OUT, else '
        'work_dirs/device_check)')
    p.add_argument(
        '--dry-run',
        action='store_true',
        help='CPU, tiny sizes: every step that needs no GPU')
    p.add_argument(
        '--wheels',
        default=osp.join(REPO_ROOT, '.whl'),
        help='folder of carried wheels (default .whl)')
    p.add_argument(
        '--mmcv',
        choices=['lite', 'build', 'installed'],
        default='lite',
        help='lite: mmcv-lite + pure-torch ops (default); build: '
        'build the carried mmcv sdist with CPU ops; installed: '
        'use the installed mmcv')
    p.add_argument(
        '--site',
        default=None,
        help='install target (default: a temporary folder)')
    p.add_argument(
        '--data-root',
        default=osp.join(REPO_ROOT, 'data', 'widerface'),
        help='WIDER-format data set; generated when absent')
    p.add_argument(
        '--work-dir',
        default=None,
        help='scratch folder (default: a temporary one)')
    p.add_argument(
        '--budget',
        type=float,
        default=None,
        help='seconds for all steps (default 450; dry run: '
        'no limit)')
    p.add_argument('--skip', nargs='*', default=[], help='steps to skip')
    p.add_argument(
        '--train-iters',
        type=int,
        default=None,
        help='AMP training iterations (default 50; dry run 6)')
    p.add_argument(
        '--workers',
        type=int,
        default=None,
        help='data loader workers (default min(16, CPUs); dry '
        'run 0)')
    p.add_argument(
        '--prepare-wheels',
        metavar='DIR',
        default=None,
        help='download the wheels to carry into DIR and check '
        'the size of what travels; no check is run')
    p.add_argument('--step', default=None, help=argparse.SUPPRESS)
    p.add_argument('--step-args', default='{}', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.budget is None:
        args.budget = 3600. if args.dry_run else 450.
    return args


# ------------------------------------------------------------- wheels
def _dist_version(dist: str) -> str:
    from importlib.metadata import version
    return version(dist)


def _pip(*args: str) -> List[str]:
    return [sys.executable, '-m', 'pip', '--disable-pip-version-check'
            ] + list(args)


def travelling_bytes(extra: Optional[str] = None) -> Dict[str, int]:
    """Bytes of what the device tool sends: the working tree's tracked and
    untracked-not-ignored files, plus the carried folder ``extra``."""
    files = subprocess.run(
        ['git', 'ls-files', '-co', '--exclude-standard', '-z'],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True).stdout.split(b'\0')
    tree = sum(
        osp.getsize(osp.join(REPO_ROOT, f.decode())) for f in files
        if f and osp.isfile(osp.join(REPO_ROOT, f.decode())))
    carried = 0
    if extra and osp.isdir(extra):
        carried = sum(
            osp.getsize(osp.join(d, n)) for d, _, names in os.walk(extra)
            for n in names)
    return dict(tree=tree, carried=carried, total=tree + carried)


def prepare_wheels(dest: str) -> int:
    """Download the carried wheels (versions as installed here) into
    ``dest`` and check the size of what travels. Returns an exit code."""
    os.makedirs(dest, exist_ok=True)
    mmcv_version = _dist_version('mmcv')
    platform_args = [
        '--only-binary=:all:', '--python-version', DEVICE_PYTHON,
        '--implementation', 'cp'
    ]
    for plat in PLATFORMS:
        platform_args += ['--platform', plat]
    wanted = [
        f'{d}=={_dist_version(d)}' for d, _ in PURE_WHEELS + BINARY_WHEELS
    ]
    wanted += [f'mmcv-lite=={mmcv_version}', 'setuptools<70']
    for req in wanted:
        subprocess.run(
            _pip('download', '-q', '--no-deps', '-d', dest, req,
                 *platform_args),
            check=True)
    # the mmcv sdist, for --mmcv build (CPU ops only)
    subprocess.run(
        _pip('download', '-q', '--no-deps', '--no-binary=:all:',
             '--no-build-isolation', '-d', dest, f'mmcv=={mmcv_version}'),
        check=True)
    names = sorted(os.listdir(dest))
    seen: Dict[str, str] = {}
    for n in names:  # one version of each package
        key = n.split('-')[0].lower().replace('_', '-')
        if key in seen:
            print(f'more than one {key} in {dest}: {seen[key]}, {n}; '
                  'remove the stale one')
            return 1
        seen[key] = n
    for n in names:
        print(f'{osp.getsize(osp.join(dest, n)) / MIB:8.2f} MiB  {n}')
    size = travelling_bytes(dest)
    print(f'working tree {size["tree"] / MIB:.2f} MiB + {dest} '
          f'{size["carried"] / MIB:.2f} MiB = {size["total"] / MIB:.2f} MiB '
          f'(limit {TRAVEL_LIMIT / MIB:.0f} MiB)')
    if size['total'] > TRAVEL_LIMIT:
        print('too large to travel')
        return 1
    return 0


def wheel_compatible(filename: str) -> bool:
    """Whether this interpreter can install the wheel ``filename``."""
    from packaging.tags import sys_tags
    from packaging.utils import parse_wheel_filename
    _, _, _, tags = parse_wheel_filename(osp.basename(filename))
    supported = set(sys_tags())
    return any(t in supported for t in tags)


# ---------------------------------------------------------- the runner
class Check:
    """Runs the steps, logs their output and collects the results."""

    def __init__(self, args) -> None:
        self.args = args
        self.out = args.out or osp.join(REPO_ROOT, 'work_dirs', 'device_check')
        os.makedirs(self.out, exist_ok=True)
        self.log_path = osp.join(self.out, 'device_check.log')
        self.json_path = osp.join(self.out, 'device_check.json')
        self.work = args.work_dir or tempfile.mkdtemp(prefix='device_check_')
        os.makedirs(self.work, exist_ok=True)
        self.site = args.site or osp.join(self.work, 'site')
        self.start = time.time()
        self.steps: List[dict] = []
        self.result = dict(
            dry_run=args.dry_run,
            mmcv=args.mmcv,
            budget_s=args.budget,
            host=dict(
                python=platform.python_version(),
                machine=platform.machine(),
                cpus=os.cpu_count(),
                hostname=socket.gethostname()),
            steps=self.steps)
        self._log = open(self.log_path, 'w')
        self.env = dict(os.environ)
        self.env['PYTHONUNBUFFERED'] = '1'
        self.env['PYTHONPATH'] = os.pathsep.join([self.site, REPO_ROOT] + (
            [self.env['PYTHONPATH']] if self.env.get('PYTHONPATH') else []))
        if args.dry_run:
            self.env['CUDA_VISIBLE_DEVICES'] = ''
            self.env.setdefault('OMP_NUM_THREADS', '1')
        self.workers = args.workers if args.workers is not None else (
            0 if args.dry_run else min(16,
                                       os.cpu_count() or 1))
        self.train_iters = args.train_iters or (6 if args.dry_run else 50)

    # ----------------------------------------------------------- helpers
    def log(self, msg: str) -> None:
        line = f'[device_check {time.time() - self.start:6.1f}s] {msg}'
        print(line, flush=True)
        self._log.write(line + '\n')
        self._log.flush()

    def remaining(self) -> float:
        return self.args.budget - (time.time() - self.start)

    def run(self,
            cmd: List[str],
            timeout: float,
            env: Optional[dict] = None) -> subprocess.CompletedProcess:
        """Run ``cmd`` in the repository, output into the log."""
        self.log('$ ' + ' '.join(cmd))
        proc = subprocess.run(
            cmd,
            cwd=REPO_ROOT,
            env=env or self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=max(1., timeout),
            text=True)
        self._log.write(proc.stdout)
        self._log.flush()
        if proc.returncode != 0:
            tail = '\n'.join(proc.stdout.splitlines()[-30:])
            raise RuntimeError(f'exit code {proc.returncode}: '
                               f'{" ".join(cmd[:4])} ...\n{tail}')
        return proc

    def self_step(self, name: str, timeout: float, **kwargs) -> dict:
        """Run :data:`STEPS_IN_SUBPROCESS` ``name`` of this file in a
        subprocess (with the installed packages) and return its JSON."""
        res = osp.join(self.work, f'{name}.json')
        kwargs['result'] = res
        self.run([
            sys.executable,
            osp.abspath(__file__), '--step', name, '--step-args',
            json.dumps(kwargs)
        ], timeout)
        with open(res) as f:
            return json.load(f)

    def step(self,
             name: str,
             fn,
             min_seconds: float = 10.,
             timeout: float = 600.) -> Optional[dict]:
        """Run step ``name`` (``fn(timeout)``), record status and time."""
        rec = dict(name=name)
        self.steps.append(rec)
        if name in self.args.skip:
            rec.update(status='skipped', reason='--skip')
            self.log(f'{name}: skipped (--skip)')
            return None
        if self.remaining() < min_seconds:
            rec.update(
                status='skipped',
                reason=f'{self.remaining():.0f} s of the budget '
                f'left, the step needs at least {min_seconds:.0f}')
            self.log(f'{name}: skipped ({rec["reason"]})')
            return None
        self.log(f'{name}: start')
        t0 = time.time()
        try:
            out = fn(min(timeout, self.remaining()))
            rec.update(status='ok', result=out)
        except Exception as e:  # a failed step does not stop the others
            rec.update(status='failed', error=f'{type(e).__name__}: {e}')
            out = None
        rec['seconds'] = round(time.time() - t0, 2)
        self.log(f'{name}: {rec["status"]} in {rec["seconds"]} s' +
                 (f' -- {rec["error"]}' if 'error' in rec else ''))
        self.save()
        return out

    def save(self) -> None:
        self.result['wall_s'] = round(time.time() - self.start, 2)
        with open(self.json_path, 'w') as f:
            json.dump(self.result, f, indent=1, default=str)

    # ------------------------------------------------------------- steps
    def install(self, timeout: float) -> dict:
        start = time.time()
        os.makedirs(self.site, exist_ok=True)
        wheels = sorted(glob.glob(osp.join(self.args.wheels, '*.whl')))
        mode = self.args.mmcv
        skip_prefix = ('mmcv_lite', 'setuptools')
        chosen, incompatible = [], []
        for w in wheels:
            base = osp.basename(w)
            if base.startswith(skip_prefix):
                continue
            (chosen if wheel_compatible(w) else incompatible).append(w)
        info: Dict[str, object] = dict(
            wheels=[osp.basename(w) for w in chosen],
            not_for_this_python=[osp.basename(w) for w in incompatible])
        if mode == 'lite':
            lite = [
                w for w in wheels if osp.basename(w).startswith('mmcv_lite')
            ]
            if not lite:
                raise FileNotFoundError(
                    f'no mmcv_lite wheel in {self.args.wheels}: run make '
                    'device-wheels (or --mmcv installed / build)')
            chosen += lite
            info['wheels'].append(osp.basename(lite[0]))
        if chosen:
            t0 = time.time()
            self.run(
                _pip('install', '-q', '--no-index', '--no-deps',
                     '--no-compile', '--upgrade', '--target', self.site,
                     *chosen), timeout)
            info['install_s'] = round(time.time() - t0, 2)
        if mode == 'build':
            info.update(self._build_mmcv(timeout - (time.time() - start)))
        return info

    def _build_mmcv(self, timeout: float) -> dict:
        """Build the carried mmcv sdist into the site, CPU ops only."""
        sdists = glob.glob(osp.join(self.args.wheels, 'mmcv-*.tar.gz'))
        if not sdists:
            raise FileNotFoundError(f'no mmcv sdist in {self.args.wheels}')
        build_env = dict(self.env)
        # CPU ops only: hide the GPU from mmcv's setup.py (it builds the
        # CUDA ops whenever torch sees one), all cores, mmcv 2.1's old
        # setuptools first on the path
        build_env.update(
            CUDA_VISIBLE_DEVICES='',
            FORCE_CUDA='0',
            MMCV_WITH_OPS='1',
            MAX_JOBS=str(os.cpu_count()))
        tools = osp.join(self.work, 'build_tools')
        st = glob.glob(osp.join(self.args.wheels, 'setuptools-*.whl'))
        if st:
            self.run(
                _pip('install', '-q', '--no-index', '--no-deps', '--target',
                     tools, st[0]), timeout)
            build_env['PYTHONPATH'] = tools + os.pathsep + \
                build_env['PYTHONPATH']
        t0 = time.time()
        self.run(
            _pip('install', '--no-index', '--no-deps', '--no-build-isolation',
                 '--target', self.site, sdists[0]),
            timeout - (time.time() - t0),
            env=build_env)
        return dict(
            mmcv_build_s=round(time.time() - t0, 1),
            mmcv_build_jobs=os.cpu_count())

    def data(self, timeout: float) -> dict:
        root = self.args.data_root
        if osp.isfile(osp.join(root, '.complete')):
            return dict(data_root=root, generated=False)
        cmd = [sys.executable, GEN_DATA, root]
        if self.args.dry_run:
            cmd += [
                '--num-images', '24', '--num-val', '6', '--max-size', '256'
            ]
        self.run(cmd, timeout)
        return dict(data_root=root, generated=True)

    def bench(self, name: str, models: List[str], infer: bool, train: bool,
              timeout: float) -> dict:
        res = osp.join(self.work, f'{name}.json')
        cmd = [sys.executable, BENCH, '--models'] + models + [
            '--data-root', self.args.data_root, '--workers',
            str(self.workers), '--out-json', res
        ]
        if not infer:
            cmd.append('--no-infer')
        if not train:
            cmd.append('--no-train')
        if self.args.dry_run:
            cmd += [
                '--device', 'cpu', '--sizes', 'vga', '--batch', '2', '--iters',
                '1', '--warmup', '0', '--min-time', '0', '--train-iters', '1',
                '--train-batch', '2', '--train-scale', '128', '128',
                '--threads', '1'
            ]
        else:
            cmd += [
                '--device', 'cuda', '--amp', '--channels-last', '--sizes',
                'vga', '--batch', '32', '--train-iters', '30'
            ]
        self.run(cmd, timeout)
        with open(res) as f:
            out = json.load(f)
        return dict(
            inference=out['inference'],
            training=out['training'],
            env=out['env'],
            table=out['table'])

    def _train_cfg(self, iters: int, name: str) -> str:
        """Write :func:`train_config` for this run; returns its path."""
        path = osp.join(self.work, f'{name}.py')
        with open(path, 'w') as f:
            f.write(
                train_config(
                    self.args.data_root,
                    iters,
                    self.workers,
                    batch=4 if self.args.dry_run else 16,
                    scale=(128, 128) if self.args.dry_run else None))
        return path

    def _last_checkpoint(self) -> Optional[str]:
        ckpt = osp.join(self.work, 'train_amp', f'iter_{self.train_iters}.pth')
        return ckpt if osp.isfile(ckpt) else None

    def train_amp(self, timeout: float) -> dict:
        iters = self.train_iters
        cfg = self._train_cfg(iters, 'train_amp')
        work = osp.join(self.work, 'train_amp')
        self.run([
            sys.executable, 'tools/train.py', cfg, '--amp', '--work-dir', work
        ], timeout)
        losses = read_losses(work)
        if len(losses) != iters:
            raise RuntimeError(f'{len(losses)} logged losses for {iters} '
                               'iterations')
        finite = all(math.isfinite(v) for v in losses)
        k = max(1, min(10, iters // 3))
        first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
        ckpt = osp.join(work, f'iter_{iters}.pth')
        out = dict(
            iters=iters,
            losses=losses,
            finite=finite,
            first_mean=first,
            last_mean=last,
            falls=last < first,
            checkpoint=ckpt if osp.isfile(ckpt) else None)
        if not finite:
            raise RuntimeError(f'non-finite loss: {losses}')
        if not self.args.dry_run and not out['falls']:
            raise RuntimeError(f'loss did not fall: first {k} mean '
                               f'{first:.4f}, last {k} mean {last:.4f}')
        return out

    def equal(self, timeout: float, ckpt: Optional[str]) -> dict:
        if not ckpt:
            raise RuntimeError('no checkpoint from train_amp')
        cfg = self._train_cfg(1, 'equal')
        work = osp.join(self.work, 'test')
        pkl = osp.join(work, 'results.pkl')
        num = 3 if self.args.dry_run else 50
        t0 = time.time()
        self.run([
            sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir', work,
            '--out', pkl, '--cfg-options',
            f'test_dataloader.dataset.indices={num}',
            'test_evaluator.allow_missing=True'
        ], timeout)
        test_s = time.time() - t0
        out = self.self_step(
            'compare',
            timeout - test_s,
            config=cfg,
            checkpoint=ckpt,
            pkl=pkl,
            device='cpu' if self.args.dry_run else 'cuda')
        out['test_py_s'] = round(test_s, 2)
        if not out['same']:
            raise RuntimeError(f'FaceDetector differs from tools/test.py: '
                               f'{out}')
        if not out['batched_exact']:
            raise RuntimeError('batched predict differs from per-image '
                               f'predict at batch 32: {out}')
        return out

    def dist_train(self, timeout: float, gpus: int) -> dict:
        procs = 2 if (self.args.dry_run or gpus >= 2) else 1
        iters = 2 if self.args.dry_run else 10
        cfg = self._train_cfg(iters, 'dist_train')
        work = osp.join(self.work, 'dist_train')
        env = dict(self.env)
        with socket.socket() as s:  # a free port
            s.bind(('127.0.0.1', 0))
            env['PORT'] = str(s.getsockname()[1])
        opts = ['env_cfg.dist_cfg.backend=gloo'] if self.args.dry_run else []
        cmd = [
            'bash', 'tools/dist_train.sh', cfg,
            str(procs), '--work-dir', work
        ]
        if opts:
            cmd += ['--cfg-options'] + opts
        self.run(cmd, timeout, env=env)
        losses = read_losses(work)
        out = dict(
            processes=procs,
            iters=iters,
            losses=losses,
            finite=all(math.isfinite(v) for v in losses))
        if procs == 1:
            out['note'] = ('one GPU: one process (torchrun, NCCL, DDP); two '
                           'ranks need two GPUs (NCCL refuses two ranks on '
                           "one device, mmengine's CUDA init puts rank 1 on "
                           'cuda:1)')
        if len(losses) != iters or not out['finite']:
            raise RuntimeError(f'losses {losses} for {iters} iterations')
        return out

    # -------------------------------------------------------------- all
    def targets(self, mnet: Optional[dict], r50: Optional[dict]) -> list:
        measured = {}
        if mnet:
            vga = [r for r in mnet['inference'] if r['size'] == 'vga']
            if vga:
                measured['mnet_vga_b1'] = vga[0]['e2e_b1_ms']
                measured['mnet_vga_b32'] = vga[0]['e2e_bN_img_s']
            if mnet['training']:
                measured['mnet_train'] = mnet['training'][0]['img_s']
        if r50 and r50['training']:
            measured['r50_train'] = r50['training'][0]['img_s']
        rows = []
        for key, what, bound, unit, higher in TARGETS:
            value = measured.get(key)
            met = None
            if value is not None and not self.args.dry_run:
                met = value >= bound if higher else value <= bound
            rows.append(
                dict(
                    key=key,
                    what=what,
                    target=bound,
                    unit=unit,
                    higher_is_better=higher,
                    measured=value,
                    met=met))
        return rows

    def run_all(self) -> int:
        a = self.args
        self.log(f'out {self.out}, work {self.work}, dry run {a.dry_run}, '
                 f'mmcv {a.mmcv}, budget {a.budget:.0f} s')
        if a.mmcv != 'installed':
            self.step('install', self.install, timeout=400.)
        env = self.step(
            'env', lambda t: self.self_step('env', t), timeout=120.)
        gpus = (env or {}).get('cuda_devices', 0)
        if env and not a.dry_run and not gpus:
            self.log('no CUDA device: the GPU steps are skipped '
                     '(--dry-run runs them on CPU)')
            a.skip += [
                'bench_mnet', 'bench_r50', 'train_amp', 'equal', 'dist_train'
            ]
        self.step('data', self.data, timeout=180.)
        mnet = self.step(
            'bench_mnet',
            lambda t: self.bench('bench_mnet', ['mnet025'], True, True, t),
            min_seconds=40.,
            timeout=240.)
        r50 = self.step(
            'bench_r50',
            lambda t: self.bench('bench_r50', ['r50'], False, True, t),
            min_seconds=40.,
            timeout=180.)
        train = self.step(
            'train_amp', self.train_amp, min_seconds=30., timeout=200.)
        # (a rerun with --skip train_amp uses the work dir's checkpoint)
        ckpt = (train or {}).get('checkpoint') or self._last_checkpoint()
        self.step(
            'equal',
            lambda t: self.equal(t, ckpt),
            min_seconds=25.,
            timeout=150.)
        self.step(
            'dist_train',
            lambda t: self.dist_train(t, gpus),
            min_seconds=30.,
            timeout=150.)
        self.result['targets'] = self.targets(mnet, r50)
        failed = [s['name'] for s in self.steps if s['status'] == 'failed']
        self.result['failed'] = failed
        self.save()
        for t in self.result['targets']:
            v = t['measured']
            self.log(f'target {t["key"]}: '
                     f'{"-" if v is None else round(v, 2)} {t["unit"]} '
                     f'({"<=" if not t["higher_is_better"] else ">="} '
                     f'{t["target"]:g}) met={t["met"]}')
        self.log(f'done in {time.time() - self.start:.0f} s; failed steps: '
                 f'{failed or "none"}; {self.json_path}')
        self._log.close()
        return 1 if failed else 0


def train_config(data_root: str,
                 iters: int,
                 workers: int,
                 batch: int,
                 scale: Optional[tuple] = None) -> str:
    """Text of a config: the demo one for ``iters`` iterations on
    ``data_root`` (batch ``batch``, train size ``scale``, default the
    demo's), every loss logged, a checkpoint at the end, no validation."""
    demo = osp.join(REPO_ROOT, DEMO_CFG)
    data_root = data_root.rstrip('/') + '/'
    scale_expr = '_base_.train_scale' if scale is None else repr(tuple(scale))
    return f"""_base_ = {demo!r}
train_pipeline = [
    dict(t, scale={scale_expr}) if t['type'] == 'RandomInterpResize' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size={batch}, num_workers={workers},
    persistent_workers={workers > 0},
    dataset=dict(data_root={data_root!r}, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root={data_root!r}))
test_dataloader = val_dataloader
val_evaluator = dict(gt_dir={data_root + 'ground_truth/'!r})
test_evaluator = val_evaluator
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters={iters},
    val_interval={iters + 1})
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval={iters}, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=1)
"""


def read_losses(work_dir: str) -> List[float]:
    """Per-iteration ``loss`` of the newest run in ``work_dir`` (mmengine's
    ``vis_data/scalars.json``)."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no vis_data/scalars.json in {work_dir}')
    losses = {}
    with open(files[-1]) as f:
        for line in f:
            rec = json.loads(line)
            if 'loss' in rec and 'iter' in rec:
                losses[int(rec['iter'])] = float(rec['loss'])
    return [losses[k] for k in sorted(losses)]


# ------------------------------------------- steps in a subprocess
def step_env(result: str) -> None:
    """Imports, versions, the accelerator, the patches."""
    # isort: off
    import torch

    import mmcv
    import mmcv_patches
    import mmdet_faces  # noqa: F401 (mmcv-lite: the stand-in first)
    import mmdet
    import mmdet.models  # noqa: F401
    import mmengine
    from mmcv_patches import ops
    # isort: on
    out = dict(
        python=platform.python_version(),
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        mmcv=mmcv.__version__,
        mmcv_file=mmcv.__file__,
        mmengine=mmengine.__version__,
        mmdet=mmdet.__version__,
        patches=mmcv_patches.patch_report(),
        mmcv_lite=isinstance(sys.modules.get('mmcv._ext'), ops.TorchOpsExt),
        cuda_available=torch.cuda.is_available(),
        cuda_devices=torch.cuda.device_count())
    from importlib.metadata import PackageNotFoundError, version
    for mod, dist in (('pycocotools', 'pycocotools'), ('shapely', 'shapely'),
                      ('cv2', 'opencv-python-headless'), ('numpy', 'numpy')):
        try:
            __import__(mod)
            out[mod] = version(dist)
        except PackageNotFoundError:
            out[mod] = 'installed'
        except ImportError as e:
            out[mod] = f'missing: {e}'
    if out['cuda_available']:
        prop = torch.cuda.get_device_properties(0)
        out.update(
            gpu=prop.name,
            gpu_memory_gib=round(prop.total_memory / 2**30, 1),
            capability=list(torch.cuda.get_device_capability(0)),
            cudnn=torch.backends.cudnn.version())
    if shutil.which('nvidia-smi'):
        smi = subprocess.run(['nvidia-smi', '-L'],
                             capture_output=True,
                             text=True)
        out['nvidia_smi'] = smi.stdout.strip()
    with open(result, 'w') as f:
        json.dump(out, f, indent=1)


#: the globals of tools/test.py's ``--out`` pickle (mmdet's DumpDetResults:
#: data-sample dicts of tensors, numpy arrays and scalars); no other is
#: loaded
RESULT_PICKLE_GLOBALS = frozenset([
    ('_codecs', 'encode'),
    ('collections', 'OrderedDict'),
    ('numpy', 'dtype'),
    ('numpy', 'ndarray'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', 'scalar'),
    ('torch._utils', '_rebuild_tensor_v2'),
])


def _storage_from_bytes(data: bytes):
    """``torch.storage._load_from_bytes``, weights only."""
    import io

    import torch
    return torch.load(io.BytesIO(data), weights_only=True)


def load_test_results(path: str) -> list:
    """The samples of a ``tools/test.py --out`` pickle, through an
    unpickler that only builds :data:`RESULT_PICKLE_GLOBALS` (a tensor's
    storage through ``torch.load(weights_only=True)``): a pickle that
    would call anything else raises ``pickle.UnpicklingError`` naming the
    file and the refused global, and nothing of it runs."""
    import pickle

    class ResultsUnpickler(pickle.Unpickler):

        def find_class(self, module, name):
            if (module, name) == ('torch.storage', '_load_from_bytes'):
                return _storage_from_bytes
            if (module, name) in RESULT_PICKLE_GLOBALS:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(
                f'{path}: refused to load {module}.{name}: not a global '
                'of a tools/test.py --out results file')

    with open(path, 'rb') as f:
        return ResultsUnpickler(f).load()


def step_compare(result: str, config: str, checkpoint: str, pkl: str,
                 device: str) -> None:
    """FaceDetector on the images tools/test.py ran, compared with its
    results: the same boxes, scores and landmarks; and FaceDetector at
    batch 32 (mixed sizes padded into one batch) with the batched predict
    path against the per-image path on the same batches: identical
    detections."""
    import numpy as np

    from mmdet_faces.apis import FaceDetector
    samples = load_test_results(pkl)
    ref = {s['img_path']: s['pred_instances'] for s in samples}
    paths = sorted(ref)
    det = FaceDetector(config, checkpoint, device=device)
    t0 = time.time()
    results = det(paths)
    seconds = time.time() - t0
    max_diff, exact, counts = 0., True, []
    for path, res in zip(paths, results):
        pred = ref[path]
        fields = [(res.bboxes, pred['bboxes']), (res.scores, pred['scores'])]
        if res.keypoints is not None:
            fields.append((res.keypoints, pred['keypoints']))
        counts.append(len(res))
        for mine, theirs in fields:
            theirs = np.asarray(theirs)
            if mine.shape != theirs.shape:
                exact, max_diff = False, float('inf')
                continue
            if mine.size:
                max_diff = max(max_diff, float(np.abs(mine - theirs).max()))
            exact &= bool(np.array_equal(mine, theirs))
    out = dict(
        images=len(paths),
        detections=int(sum(counts)),
        exact=exact,
        max_abs_diff=max_diff,
        same=exact or max_diff <= 1e-3,
        face_detector_s=round(seconds, 3),
        device=device)
    out.update(compare_batched_predict(config, checkpoint, paths, device))
    with open(result, 'w') as f:
        json.dump(out, f, indent=1)


def compare_batched_predict(config: str,
                            checkpoint: str,
                            paths: list,
                            device: str,
                            batch_size: int = 32) -> dict:
    """FaceDetector at ``batch_size`` (mixed sizes padded into a batch)
    with ``test_cfg.batched_predict`` True and False: the same network
    outputs through the batched and the per-image decoding + NMS, which
    must give identical detections in the same order."""
    import numpy as np

    from mmdet_faces.apis import FaceDetector
    results, seconds = {}, {}
    for batched in (True, False):
        det = FaceDetector(
            config,
            checkpoint,
            device=device,
            batch_size=batch_size,
            pad_mixed_sizes=True,
            cfg_options={'model.test_cfg.batched_predict': batched})
        t0 = time.time()
        results[batched] = det(paths)
        seconds[batched] = round(time.time() - t0, 3)
    differ = []
    for path, a, b in zip(paths, results[True], results[False]):
        for field in ('bboxes', 'scores', 'keypoints'):
            mine, theirs = getattr(a, field), getattr(b, field)
            if (mine is None) != (theirs is None) or (
                    mine is not None and not np.array_equal(mine, theirs)):
                differ.append(f'{path}: {field}')
    return dict(
        batch_size=batch_size,
        batched_detections=int(sum(len(r) for r in results[True])),
        batched_exact=not differ,
        batched_differ=differ[:5],
        batched_predict_s=seconds[True],
        per_image_predict_s=seconds[False])


STEPS_IN_SUBPROCESS = dict(env=step_env, compare=step_compare)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.step:
        STEPS_IN_SUBPROCESS[args.step](**json.loads(args.step_args))
        return 0
    if args.prepare_wheels:
        return prepare_wheels(args.prepare_wheels)
    return Check(args).run_all()


if __name__ == '__main__':
    sys.exit(main())
