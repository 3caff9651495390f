"""The README main job in miniature.

Stock train -> test -> pictures -> summary.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _run(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    proc = subprocess.run(
        [sys.executable] + args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc.stdout


def _data_options(root):
    root = root.rstrip('/') + '/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.gt_dir={root}ground_truth/',
        f'test_evaluator.gt_dir={root}ground_truth/',
        'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
    ]


def test_train_test_visualise_summary(tiny_widerface, repo_root, tmp_path):
    work = str(tmp_path / 'work')
    cfg = ('configs/retinaface/'
           'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')
    opts = _data_options(tiny_widerface)
    out = _run(['tools/train.py', cfg, '--work-dir', work, '--cfg-options'] +
               opts + ['train_cfg.max_epochs=2', 'train_cfg.val_interval=2'],
               repo_root)
    assert 'widerface/easy' in out  # validation ran with the WIDER metric
    ckpt = open(osp.join(work, 'last_checkpoint')).read().strip()
    assert osp.isfile(ckpt)

    test_dir = str(tmp_path / 'test')
    _run([
        'tools/test.py', cfg, ckpt, '--work-dir', test_dir, '--show-dir',
        'vis', '--cfg-options'
    ] + opts + ['default_hooks.visualization.score_thr=0.3'], repo_root)
    (metrics_file, ) = glob.glob(osp.join(test_dir, '*', '*.json'))
    metrics = json.load(open(metrics_file))
    for key in ('easy', 'medium', 'hard'):
        assert 0.0 <= metrics[f'widerface/{key}'] <= 1.0
    pictures = glob.glob(
        osp.join(test_dir, '*', 'vis', '**', '*.jpg'), recursive=True)
    assert len(pictures) == 12  # every val image drawn

    summary = _run(['tools/misc/demo_summary.py', test_dir], repo_root)
    assert 'widerface/easy' in summary and 'pictures (12' in summary


def test_summary_reports_missing_run(tmp_path, repo_root):
    proc = subprocess.run(
        [sys.executable, 'tools/misc/demo_summary.py',
         str(tmp_path)],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    assert proc.returncode == 2
    assert 'did tools/test.py finish' in proc.stdout
