"""mmdet's own tooling on the face configs, as an mmdet user runs it:
``mim train`` / ``mim test`` (2 CPU ranks through ``--launcher pytorch``),
``analyze_logs.py plot_curve`` / ``cal_train_time`` on that run's log with
the WIDER keys, and the stock ``browse_dataset.py`` drawing the landmarks
of the training pipeline's output."""
import contextlib
import importlib.util
import io
import json
import os
import os.path as osp
import pickle
import runpy
import subprocess
import sys

import numpy as np
import pytest

from tests.test_tools.test_retinaface_dist_resume import widerface_options
from tests.testing import (REPO_ROOT, flatten_cfg_options, latest_run_dir,
                           python_exe, read_scalars, run_tool,
                           tiny_run_options)

CONFIG = osp.join(REPO_ROOT, 'configs', 'retinaface',
                  'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')
ANALYZE_LOGS = osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                        'analyze_logs.py')
S3FD_CONFIG = osp.join(
    REPO_ROOT, 'configs', 's3fd',
    's3fd_vgg16-w0.125_1xb8-300iter_widerface-synthetic.py')
HAS_MIM = importlib.util.find_spec('mim') is not None


def _run(cmd, cwd):
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        CUDA_VISIBLE_DEVICES='',
        PYTHONFAULTHANDLER='1')
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        text=True,
        timeout=600,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout


@pytest.fixture(scope='module')
def tiny_run(tiny_widerface, tmp_path_factory):
    """A 2-epoch run (validation after each) of the demo config on the
    tiny set: ``mim train mmdet CONFIG --launcher pytorch --gpus 2`` where
    mim is installed, else ``tools/train.py``. Its log is what the log
    analysis tests read."""
    work = str(tmp_path_factory.mktemp('mim_run') / 'work')
    opts = widerface_options(tiny_widerface, batch_size=4, epochs=2)
    opts['train_cfg.val_interval'] = 1
    args = ['--work-dir', work, '--cfg-options'] + flatten_cfg_options(opts)
    if HAS_MIM:
        cmd = [
            python_exe(), '-m', 'mim', 'train', 'mmdet', CONFIG, '--launcher',
            'pytorch', '--gpus', '2', '--port',
            str(_free_port())
        ] + args
    else:
        cmd = [python_exe(),
               osp.join(REPO_ROOT, 'tools', 'train.py'), CONFIG] + args
    # from another folder: configs and data found by their paths only
    out = _run(cmd, cwd=str(tmp_path_factory.mktemp('elsewhere')))
    return dict(
        work=work,
        output=out,
        run=latest_run_dir(work),
        ckpt=osp.join(work, 'epoch_2.pth'))


def _free_port():
    from tests.testing import free_port
    return free_port()


@pytest.mark.skipif(not HAS_MIM, reason='openmim is not installed')
def test_mim_train_and_test(tiny_run, tiny_widerface, tmp_path):
    """``mim train`` ran the plugin's config on 2 ranks (the stock
    mmdet/.mim/tools/train.py under torch.distributed); ``mim test`` (one
    process) of its checkpoint gives the WIDER metric and, with ``--out``,
    predictions with landmarks equal to FaceDetector's."""
    out = tiny_run['output']
    assert 'Training finished successfully' in out
    assert 'torch.distributed.launch --nproc_per_node=2' in out
    assert 'mmdet/.mim/tools/train.py' in out
    assert 'GPU number: 2' in out and 'Distributed training: True' in out
    assert osp.isfile(tiny_run['ckpt'])
    root = tiny_widerface.rstrip('/') + '/'
    opts = widerface_options(tiny_widerface)
    opts = {k: v for k, v in opts.items() if k.startswith('test_')}
    pkl = str(tmp_path / 'preds.pkl')
    out = _run(
        [
            python_exe(), '-m', 'mim', 'test', 'mmdet', CONFIG, '--checkpoint',
            tiny_run['ckpt'], '--work-dir',
            str(tmp_path / 'test'), '--out', pkl, '--cfg-options'
        ] + flatten_cfg_options(opts),
        cwd=str(tmp_path))
    assert 'Testing finished successfully' in out
    assert 'widerface/easy' in out and 'widerface/hard' in out
    with open(pkl, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 12 and all(root in p['img_path'] for p in preds)
    from mmdet_faces.apis import FaceDetector
    det = FaceDetector(CONFIG, tiny_run['ckpt'])
    for pred in sorted(preds, key=lambda p: p['img_path'])[:3]:
        res = det(pred['img_path'])
        inst = pred['pred_instances']
        assert inst['keypoints'].shape == (len(res), 5, 2)
        np.testing.assert_array_equal(inst['bboxes'].numpy(), res.bboxes)
        np.testing.assert_array_equal(inst['keypoints'].numpy(), res.keypoints)


STOCK_ANALYZE_LOGS = osp.join(
    osp.dirname(importlib.util.find_spec('mmdet').origin), '.mim', 'tools',
    'analysis_tools', 'analyze_logs.py')


def _analyze_logs(argv, script=ANALYZE_LOGS):
    """Run tools/analysis_tools/analyze_logs.py (or ``script``) in this
    process; returns its printed text and the curves it saved (``{label:
    (x, y)}``)."""
    pytest.importorskip('seaborn')
    import matplotlib
    matplotlib.use('agg')
    import matplotlib.pyplot as plt
    curves = {}
    save = plt.savefig

    def record(*args, **kwargs):
        for line in plt.gca().get_lines():
            curves[line.get_label()] = (list(line.get_xdata()),
                                        list(line.get_ydata()))
        return save(*args, **kwargs)

    stdout = io.StringIO()
    old_argv = sys.argv
    sys.argv = [script] + argv
    plt.savefig = record
    try:
        with contextlib.redirect_stdout(stdout):
            runpy.run_path(script, run_name='__main__')
    except SystemExit as e:
        assert not e.code, e.code
    finally:
        sys.argv = old_argv
        plt.savefig = save
        plt.close('all')
    return stdout.getvalue(), curves


def test_analyze_logs_plot_curve(tiny_run, tmp_path):
    """The WIDER metrics per epoch and a loss per iteration, equal to the
    logged values."""
    log = osp.join(tiny_run['run'], 'vis_data', 'scalars.json')
    records = read_scalars(tiny_run['run'])
    val = [r for r in records if 'widerface/easy' in r]
    train = [r for r in records if 'loss' in r]
    assert len(val) == 2
    out = str(tmp_path / 'ap.png')
    text, curves = _analyze_logs([
        'plot_curve', log, '--keys', 'widerface/easy', 'widerface/hard',
        '--legend', 'easy', 'hard', '--out', out
    ])
    assert osp.isfile(out) and 'metric is widerface/hard' in text
    for key in ('easy', 'hard'):
        xs, ys = curves[key]
        assert xs == [1, 2]
        assert ys == [r[f'widerface/{key}'] for r in val]
    text, curves = _analyze_logs([
        'plot_curve', log, '--keys', 'loss_landmark', '--legend', 'lm',
        '--out',
        str(tmp_path / 'loss.png')
    ])
    xs, ys = curves['lm']
    assert xs == [r['step'] for r in train]
    assert ys == [r['loss_landmark'] for r in train]


def _write_log(path, records):
    with open(path, 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)
    return str(path)


def test_analyze_logs_readme_line(tiny_run, tmp_path):
    """README's plot_curve line as written (no --eval-interval) on the log
    of a run validated at its last epoch only, as ``make demo`` is: its
    metrics at that epoch. (The log is the tiny run's without its first
    validation line: what ``val_interval=2`` writes.)"""
    with open(osp.join(REPO_ROOT, 'README.md')) as f:
        lines = [ln for ln in f if 'analyze_logs.py plot_curve' in ln]
    assert len(lines) == 1, lines
    argv = lines[0].split('analyze_logs.py', 1)[1].split()
    assert argv[:2] == ['plot_curve', 'work_dirs/RUN/*/vis_data/scalars.json']
    records = read_scalars(tiny_run['run'])
    first_val = next(i for i, r in enumerate(records) if 'widerface/easy' in r)
    del records[first_val]
    log = _write_log(tmp_path / 'scalars.json', records)
    out = tmp_path / argv[argv.index('--out') + 1]
    argv[1], argv[argv.index('--out') + 1] = log, str(out)
    _, curves = _analyze_logs(argv)
    assert osp.isfile(out)
    val = [r for r in records if 'widerface/easy' in r]
    assert len(val) == 1
    for key in ('easy', 'hard'):
        assert curves[f'{log}_widerface/{key}'] == ([2], [
            val[0][f'widerface/{key}']
        ])
    # a metric no validation logged: one line naming it
    with pytest.raises(KeyError, match='has no widerface/medium'):
        _analyze_logs([
            'plot_curve',
            _write_log(tmp_path / 'train_only.json',
                       [r for r in records if 'loss' in r]), '--keys',
            'widerface/medium', '--out',
            str(out)
        ])


@pytest.fixture(scope='module')
def iter_run(tiny_widerface, tmp_path_factory):
    """An iteration-based run (the S3FD demo config): 4 iterations of batch
    2, validated after iterations 2 and 4 on 4 images."""
    root = tiny_widerface.rstrip('/') + '/'
    work = str(tmp_path_factory.mktemp('iter_run'))
    opts = tiny_run_options(
        {
            'train_dataloader.dataset.data_root': root,
            'train_dataloader.batch_size': 2,
            'train_cfg.max_iters': 4,
            'train_cfg.val_interval': 2,
            'param_scheduler': None,
            'default_hooks.checkpoint.interval': 4,
        }, {
            'dataloader.dataset.data_root': root,
            'dataloader.dataset.indices': 4,
            'evaluator.gt_dir': root + 'ground_truth/',
            'evaluator.allow_missing': True,
        })
    res = run_tool('train', S3FD_CONFIG, work, cfg_options=opts)
    assert res.returncode == 0, res
    return latest_run_dir(work)


def test_analyze_logs_plot_curve_iteration_based(iter_run, tmp_path):
    """A run without epochs: its metrics against the iteration they were
    validated at (the line's step, the S3FD configs log metrics by
    iteration; or, in a log of metrics by epoch, step 0, the last
    training iteration before them), the loss per iteration."""
    records = read_scalars(iter_run)
    val = [r for r in records if 'widerface/hard' in r]
    assert [r['step'] for r in val] == [2, 4]
    logs = [
        osp.join(iter_run, 'vis_data', 'scalars.json'),
        _write_log(tmp_path / 'by_epoch.json',
                   [dict(r, step=0) if r in val else r for r in records])
    ]
    for log in logs:
        _, curves = _analyze_logs([
            'plot_curve', log, '--keys', 'widerface/hard', 'loss', '--legend',
            'hard', 'loss', '--out',
            str(tmp_path / 'x.png')
        ])
        assert curves['hard'] == ([2, 4], [r['widerface/hard'] for r in val])
        train = [r for r in records if 'loss' in r]
        assert curves['loss'] == ([r['step']
                                   for r in train], [r['loss'] for r in train])


def test_analyze_logs_cal_train_time(tiny_run):
    """The mean iteration time per epoch (without each epoch's first
    iteration) from the training lines only. The stock script alone
    (what ``mim run mmdet analyze_logs`` runs) gives the same train time
    and loss curves and fails on the WIDER keys, as docs/inference.md
    says."""
    log = osp.join(tiny_run['run'], 'vis_data', 'scalars.json')
    text, _ = _analyze_logs(['cal_train_time', log])
    # the stock rule: a line counts for the epoch of the training line
    # before it; validation lines (with '/' keys) are left out
    times, epoch = {}, 1
    for rec in read_scalars(tiny_run['run']):
        if not any('/' in k for k in rec):
            times.setdefault(epoch, []).append(rec['time'])
        epoch = rec.get('epoch', epoch)
    assert sorted(times) == [1, 2]
    mean = np.mean([np.mean(t[1:]) for t in times.values()])
    assert f'average iter time: {mean:.4f} s/iter' in text
    assert _analyze_logs(['cal_train_time', log],
                         STOCK_ANALYZE_LOGS)[0] == text
    argv = [
        'plot_curve', log, '--keys', 'loss', '--legend', 'loss', '--out',
        osp.join(tiny_run['work'], 'x.png')
    ]
    assert _analyze_logs(argv, STOCK_ANALYZE_LOGS)[1] == _analyze_logs(argv)[1]
    argv[3] = 'widerface/hard'
    with pytest.raises(KeyError, match='widerface/hard'):
        _analyze_logs(argv, STOCK_ANALYZE_LOGS)
    argv[3] = 'hard'
    with pytest.raises(ValueError, match='same first dimension'):
        _analyze_logs(argv, STOCK_ANALYZE_LOGS)


def test_browse_dataset_draws_landmarks(tiny_widerface, tmp_path, monkeypatch):
    """mmdet's stock browse_dataset.py on the training pipeline: each
    drawing is the face visualizer's, with the landmarks of the pipeline's
    output (cropped, flipped, resized)."""
    from mmdet_faces.visualization import FaceLocalVisualizer
    stock = osp.join(
        osp.dirname(importlib.util.find_spec('mmdet').origin), '.mim', 'tools',
        'analysis_tools', 'browse_dataset.py')
    drawn = []
    add = FaceLocalVisualizer.add_datasample

    def record(self, name, image, data_sample=None, **kwargs):
        add(self, name, image, data_sample, **kwargs)
        drawn.append((image.copy(), data_sample, self.get_image().copy()))

    monkeypatch.setattr(FaceLocalVisualizer, 'add_datasample', record)
    out_dir = tmp_path / 'browse'
    root = tiny_widerface.rstrip('/') + '/'
    monkeypatch.setattr(sys, 'argv', [
        stock, CONFIG, '--output-dir',
        str(out_dir), '--not-show', '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.indices=4',
        f'visualizer.name=browse_{id(tmp_path)}'
    ])
    runpy.run_path(stock, run_name='__main__')
    monkeypatch.setattr(FaceLocalVisualizer, 'add_datasample', add)
    assert len(drawn) == 4 and len(os.listdir(out_dir)) == 4
    num_points = 0
    for i, (image, sample, result) in enumerate(drawn):
        gt = sample.gt_instances
        visible = np.asarray(gt.keypoints_visible) > 0
        num_points += int(visible.sum())
        vis = FaceLocalVisualizer(name=f'browse_check_{id(tmp_path)}_{i}')
        vis.dataset_meta = dict(classes=('face', ), palette=[(0, 255, 0)])
        vis.add_datasample('x', image, sample, draw_pred=False)
        np.testing.assert_array_equal(result, vis.get_image())
        no_kpts = sample.clone()
        del no_kpts.gt_instances.keypoints
        vis.add_datasample('x', image, no_kpts, draw_pred=False)
        if visible.any():
            assert not np.array_equal(result, vis.get_image())
    assert num_points > 0
