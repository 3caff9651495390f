"""tools/train.py, test.py, dist_*.sh and the benchmark on RetinaNet / COCO.

Everything runs on CPU: two processes over gloo, tiny synthetic COCO images
at 320x320, batch size 1, a few iterations, no pretrained weights.
"""
import json
import os.path as osp
import subprocess

import pytest

from tests.testing import (REPO_ROOT, assert_eval_gathered_once,
                           assert_trained_in_step, expected_lrs,
                           kill_and_resume, latest_run_dir, python_exe,
                           read_dist_checks, read_scalars, run_tool,
                           tiny_run_options)

CONFIG = osp.join(REPO_ROOT, 'configs', 'retinanet',
                  'retinanet_r50_fpn_8xb2-1x_coco.py')
AMP_CONFIG = osp.join(REPO_ROOT, 'configs', 'retinanet',
                      'retinanet_r50_fpn_8xb2-amp-1x_coco.py')
NUM_VAL = 4


@pytest.fixture(scope='module')
def tiny_coco(tmp_path_factory):
    from tools.dataset_converters.synthetic import generate_coco
    root = tmp_path_factory.mktemp('tiny_coco')
    generate_coco(
        str(root), num_train=8, num_val=NUM_VAL, seed=0, max_size=320)
    return str(root) + '/'


def coco_options(data_root: str,
                 num_train: int = 4,
                 val: bool = True,
                 epochs: int = 1) -> dict:
    """Overrides that make the stock RetinaNet config a tiny CPU run."""
    return tiny_run_options(
        {
            'model.backbone.init_cfg': None,  # nothing can be downloaded
            'model.test_cfg.score_thr': 0.0,  # untrained: keep some boxes
            'model.test_cfg.max_per_img': 20,
            'train_dataloader.dataset.data_root': data_root,
            'train_dataloader.dataset.indices': num_train,
            'train_dataloader.dataset.pipeline.2.scale': (320, 320),
            'train_dataloader.batch_size': 1,
            'train_cfg.max_epochs': epochs,
        },
        {
            'dataloader.dataset.data_root': data_root,
            'dataloader.dataset.pipeline.1.scale': (320, 320),
            'evaluator.ann_file': data_root +
            'annotations/instances_val2017.json',
        } if val else None)


@pytest.mark.slow
def test_dist_train_and_test_two_cpu_ranks(tiny_coco, tmp_path):
    """dist_train.sh CONFIG 2 on CPU: same weights on both ranks, metric
    computed once on all val images; dist_test.sh from the checkpoint."""
    work = str(tmp_path / 'train')
    res = run_tool(
        'train',
        CONFIG,
        work,
        nproc=2,
        dist_check=True,
        cfg_options=coco_options(tiny_coco))
    assert res.returncode == 0, res
    assert "dist backend 'nccl' cannot run on cpu; using 'gloo'" in res.output
    checks = read_dist_checks(work)
    val = assert_trained_in_step(checks, NUM_VAL)
    assert 'coco/bbox_mAP' in val[-1]['metrics']
    # 4 train images over 2 ranks at batch size 1: 2 iterations
    scalars = read_scalars(latest_run_dir(work))
    assert max(s.get('iter', 0) for s in scalars) == 2

    test_work = str(tmp_path / 'test')
    ckpt = osp.join(work, 'epoch_1.pth')
    res = run_tool(
        'test',
        CONFIG,
        test_work,
        nproc=2,
        checkpoint=ckpt,
        dist_check=True,
        cfg_options=coco_options(tiny_coco))
    assert res.returncode == 0, res
    test_checks = read_dist_checks(test_work)
    test = assert_eval_gathered_once(test_checks, NUM_VAL, 'test')
    # the checkpoint holds the trained weights: same metrics as validation
    assert test[-1]['metrics'] == val[-1]['metrics']


@pytest.mark.slow
def test_kill_and_resume(tiny_coco, tmp_path):
    """SIGKILL in epoch 2 after the epoch-1 checkpoint; --resume continues
    at iteration 3 with the scheduled LR and the saved weights."""
    opts = coco_options(tiny_coco, num_train=2, val=False, epochs=2)
    out = kill_and_resume(
        CONFIG, str(tmp_path), kill_after_iter=3, cfg_options=opts)
    assert out['first'].returncode == -9, out['first']
    assert out['second'].returncode == 0, out['second']
    assert osp.basename(out['checkpoint']) == 'epoch_1.pth'
    assert 'resumed epoch: 1, iter: 2' in out['second'].output
    # the weights the resumed run trains from are the saved ones
    assert out['loaded_digest'] == out['checkpoint_digest']
    first = {s['iter']: s['lr'] for s in out['first_scalars'] if 'lr' in s}
    second = {s['iter']: s['lr'] for s in out['second_scalars'] if 'lr' in s}
    assert sorted(first) == [1, 2, 3]
    assert sorted(second) == [3, 4]
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    lrs = expected_lrs(
        cfg.param_scheduler,
        cfg.optim_wrapper.optimizer.lr,
        4,
        iters_per_epoch=2)
    for it, lr in list(first.items()) + list(second.items()):
        assert lr == pytest.approx(lrs[it - 1], rel=1e-6), (it, lr)
    assert second[3] == pytest.approx(first[3], rel=1e-9)
    assert second[4] > second[3]  # still in the linear warm-up


@pytest.mark.slow
def test_amp_on_cpu(tiny_coco, tmp_path):
    """--amp (mmengine AmpOptimWrapper) and the AMP config train with bf16;
    the dynamic loss scaler skips the step with an injected inf, logged.

    128 x 128 inputs: on CPUs without native bf16 (AVX2 only) oneDNN
    emulates it, many times slower than fp32, and both runs say so.
    """
    import torch

    from mmcv_patches.amp import cpu_bf16_is_native
    emulated = not cpu_bf16_is_native()
    assert emulated == (not torch.ops.mkldnn._is_mkldnn_bf16_supported())
    small = {'train_dataloader.dataset.pipeline.2.scale': (128, 128)}
    opts = dict(coco_options(tiny_coco, num_train=1, val=False), **small)
    res = run_tool(
        'train',
        CONFIG,
        str(tmp_path / 'flag'),
        args=['--amp'],
        cfg_options=opts)
    assert res.returncode == 0, res
    assert "AmpOptimWrapper" in res.output
    assert ('oneDNN emulates it' in res.output) == emulated
    opts = dict(coco_options(tiny_coco, num_train=3, val=False), **small)
    res = run_tool(
        'train',
        AMP_CONFIG,
        str(tmp_path / 'cfg'),
        cfg_options=opts,
        fault=dict(inf_grad_iters=[2]))
    assert res.returncode == 0, res
    assert 'O1 mixed precision' in res.output
    assert ('oneDNN emulates it' in res.output) == emulated
    assert ('NaN/inf gradients at iter 2, optimizer step skipped (skipped 1 '
            'so far); loss scale 65536.0 -> 32768.0') in res.output
    scalars = read_scalars(latest_run_dir(str(tmp_path / 'cfg')))
    by_iter = {s['iter']: s for s in scalars if 'loss' in s}
    assert by_iter[2]['skipped_steps'] == 1
    assert 'skipped_steps' not in by_iter[1]


@pytest.mark.slow
def test_benchmark_two_ranks(tiny_coco, tmp_path):
    out = tmp_path / 'bench.json'
    opts = coco_options(tiny_coco, num_train=4, val=False)
    from tests.testing import flatten_cfg_options, free_port
    cmd = [
        'bash',
        osp.join(REPO_ROOT, 'tools', 'dist_benchmark.sh'), CONFIG, '2',
        '--iters', '2', '--warmup', '1', '--out',
        str(out), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options'
    ] + flatten_cfg_options(opts)
    env = dict(
        __import__('os').environ,
        PORT=str(free_port()),
        OMP_NUM_THREADS='1',
        CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-5000:]
    result = json.loads(out.read_text())
    assert result['world_size'] == 2 and len(result['per_rank']) == 2
    assert [r['rank'] for r in result['per_rank']] == [0, 1]
    assert all(r['images'] == 2 and r['images_per_s'] > 0
               for r in result['per_rank'])
    assert result['total_images_per_s'] == pytest.approx(
        sum(r['images_per_s'] for r in result['per_rank']))
    assert 'total:' in proc.stdout and 'rank 1' in proc.stdout


def test_tools_are_thin_wrappers(tmp_path):
    """--help reaches mmdet's own parsers (all mmdet flags available)."""
    code = ('import runpy, sys\n'
            'for tool in sys.argv[1:]:\n'
            '    sys.argv = [tool, "--help"]\n'
            '    print("==", tool)\n'
            '    try:\n'
            '        runpy.run_path(tool, run_name="__main__")\n'
            '    except SystemExit as e:\n'
            '        assert not e.code, e.code\n')
    tools = [osp.join(REPO_ROOT, 'tools', t) for t in ('train.py', 'test.py')]
    out = subprocess.run(
        [python_exe(), '-c', code] + tools,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    train_help, test_help = out.stdout.split('== ')[1:]
    for flag in ('--resume', '--amp', '--cfg-options', '--launcher',
                 '--work-dir', '--auto-scale-lr'):
        assert flag in train_help, flag
    for flag in ('--out', '--tta', '--cfg-options', '--launcher', '--work-dir',
                 '--show-dir'):
        assert flag in test_help, flag
    bad = subprocess.run(
        ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh')],
        capture_output=True,
        text=True)
    assert bad.returncode == 2 and 'usage' in bad.stderr
