#!/usr/bin/env python
"""Where a seeded training run depends on the machine: the first
iterations of a config under several CPU thread counts and instruction
sets, side by side. A measurement, not a test.

Example::

    python tools/analysis_tools/repro_check.py                # the demo
    python tools/analysis_tools/repro_check.py --iters 30 \
        --variants threads=2 threads=2 threads=1 threads=2,isa=avx2

Each variant runs ``tools/train.py CONFIG`` (seed and data as the config
has them, validation and checkpoints off) in a fresh process with
``OMP_NUM_THREADS=<threads>`` and, for ``isa=avx2``, PyTorch's and oneDNN's
kernels limited to AVX2 (``ATEN_CPU_CAPABILITY=avx2``,
``ONEDNN_MAX_CPU_ISA=AVX2``), as on an older CPU. It prints the machine
(CPU, instruction sets, cores, versions), a digest of the data set and the
logged loss of every iteration per variant, and the first iteration at
which each variant differs from the first one. Two runs of one variant on
one machine give the same losses bit for bit; compare the table of two
machines to see whether they differ in the data (the digest) or only in
the float rounding of their kernels.
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import tempfile

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ISA_ENV = {
    'avx2': dict(ATEN_CPU_CAPABILITY='avx2', ONEDNN_MAX_CPU_ISA='AVX2'),
    'avx512':
    dict(ATEN_CPU_CAPABILITY='avx512', ONEDNN_MAX_CPU_ISA='AVX512_CORE'),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--config',
        default='configs/retinaface/'
        'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')
    parser.add_argument(
        '--data-root',
        default='data/widerface',
        help='the WIDER-format data set the config reads')
    parser.add_argument(
        '--iters',
        type=int,
        default=20,
        help='training iterations per variant')
    parser.add_argument(
        '--variants',
        nargs='+',
        default=['threads=1', 'threads=2', 'threads=1,isa=avx2'],
        help='threads=N[,isa=avx2|avx512] each')
    parser.add_argument(
        '--work-dir',
        default=None,
        help='where the runs go (default: a temporary '
        'folder, removed)')
    return parser.parse_args(argv)


def parse_variant(text: str) -> dict:
    """``'threads=2,isa=avx2'`` -> environment variables."""
    env = {}
    for item in text.split(','):
        key, _, value = item.partition('=')
        if key == 'threads' and value.isdigit():
            env['OMP_NUM_THREADS'] = value
        elif key == 'isa' and value in ISA_ENV:
            env.update(ISA_ENV[value])
        else:
            raise SystemExit(f'repro_check.py: bad variant {text!r} (use '
                             'threads=N[,isa=avx2|avx512])')
    return env


def data_digest(root: str) -> str:
    """sha1 of the training annotations and image bytes, in path order."""
    digest = hashlib.sha1()
    files = sorted(
        glob.glob(osp.join(root, 'train', '**', '*'), recursive=True))
    for path in files:
        if osp.isfile(path):
            digest.update(osp.relpath(path, root).encode())
            with open(path, 'rb') as f:
                digest.update(f.read())
    return f'{digest.hexdigest()[:16]} ({len(files)} entries under train/)'


def machine() -> str:
    import torch
    flags = set()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                    break
    isa = [
        f for f in ('avx2', 'avx512f', 'avx512_bf16', 'amx_tile') if f in flags
    ]
    return (f'{platform.processor() or platform.machine()}, '
            f'{os.cpu_count()} cores, ISA {" ".join(isa) or "?"}; '
            f'torch {torch.__version__} (default {torch.get_num_threads()} '
            f'threads, {torch.backends.cpu.get_cpu_capability()})')


def run_variant(args, name: str, env: dict, work_dir: str) -> list:
    """The logged loss of each iteration of one variant."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, args.config))
    batch = cfg.train_dataloader.batch_size
    root = osp.abspath(args.data_root).rstrip('/') + '/'
    work = osp.join(work_dir, ''.join(c if c.isalnum() else '_' for c in name))
    cmd = [
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'train.py'),
        osp.join(REPO_ROOT, args.config), '--work-dir', work, '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'train_dataloader.dataset.indices={args.iters * batch}',
        'train_cfg.max_epochs=1', 'val_dataloader=None', 'val_cfg=None',
        'val_evaluator=None', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=1000', 'log_processor.window_size=1'
    ]
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=dict(os.environ, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    if proc.returncode != 0:
        raise SystemExit(f'variant {name} failed:\n{proc.stdout[-3000:]}')
    scalars = sorted(
        glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')))[-1]
    with open(scalars) as f:
        return [json.loads(line)['loss'] for line in f if '"loss"' in line]


def main(argv=None) -> int:
    args = parse_args(argv)
    variants = {}  # a variant given twice runs twice: "NAME (run 2)"
    for text in args.variants:
        name, run = text, 1
        while name in variants:
            run += 1
            name = f'{text} (run {run})'
        variants[name] = parse_variant(text)
    print(f'machine: {machine()}')
    print(f'data {args.data_root}: {data_digest(args.data_root)}')
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = args.work_dir or tmp
        losses = {
            name: run_variant(args, name, env, work_dir)
            for name, env in variants.items()
        }
    names = list(losses)
    print('| iter | ' + ' | '.join(names) + ' |')
    print('|---:|' + '---:|' * len(names))
    for i in range(max(len(v) for v in losses.values())):
        row = [
            f'{losses[n][i]:.9f}' if i < len(losses[n]) else '-' for n in names
        ]
        print(f'| {i + 1} | ' + ' | '.join(row) + ' |')
    ref = losses[names[0]]
    for name in names[1:]:
        diff = next(
            (i + 1
             for i, (a, b) in enumerate(zip(ref, losses[name])) if a != b),
            None)
        print(f'{name}: ' +
              ('same losses as ' + names[0] if diff is
               None else f'differs from {names[0]} from iteration '
               f'{diff} on'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
