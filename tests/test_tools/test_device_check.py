"""tools/device_check.py --dry-run: every step of the accelerator check on
CPU (install of the carried wheels with mmcv-lite, imports, benchmarks,
AMP training through tools/train.py, tools/test.py vs FaceDetector,
dist_train.sh), one JSON and one log under $OUT."""
import glob
import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'device_check.py')


def _load_tool():
    spec = importlib.util.spec_from_file_location('device_check', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def wheels(tmp_path_factory):
    """A folder with the mmcv-lite wheel: the one ``make device-wheels``
    put in .whl/, else downloaded; None (installed mmcv) when neither."""
    from importlib.metadata import version
    found = glob.glob(osp.join(REPO_ROOT, '.whl', 'mmcv_lite-*.whl'))
    dest = tmp_path_factory.mktemp('wheels')
    if found:
        shutil.copy(found[0], dest)
        return str(dest)
    proc = subprocess.run([
        sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '-d',
        str(dest), f'mmcv-lite=={version("mmcv")}'
    ],
                          capture_output=True,
                          timeout=120)
    return str(dest) if proc.returncode == 0 else None


def test_dry_run(tiny_widerface, tmp_path, wheels):
    data = tmp_path / 'widerface'
    shutil.copytree(tiny_widerface, data)
    out = tmp_path / 'OUT'
    env = dict(os.environ, OUT=str(out))
    cmd = [
        'bash',
        osp.join(REPO_ROOT, 'tools', 'device_check.sh'), '--dry-run',
        '--data-root',
        str(data), '--work-dir',
        str(tmp_path / 'work')
    ]
    cmd += ['--wheels', wheels] if wheels else ['--mmcv', 'installed']
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        text=True,
        timeout=900,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert sorted(os.listdir(out)) == ['device_check.json', 'device_check.log']
    res = json.loads((out / 'device_check.json').read_text())
    steps = {s['name']: s for s in res['steps']}
    expected = [
        'env', 'data', 'bench_mnet', 'bench_r50', 'train_amp', 'equal',
        'dist_train'
    ]
    if wheels:
        expected.insert(0, 'install')
    assert list(steps) == expected
    assert all(s['status'] == 'ok' for s in steps.values()), res
    assert res['dry_run'] and not res['failed']
    env_step = steps['env']['result']
    assert env_step['cuda_available'] is False
    assert env_step['patches']['ops.mmcv_lite_ext'] == (
        'applied' if wheels else 'skipped: mmcv has its compiled ops '
        '(mmcv._ext)')
    assert env_step['mmcv_lite'] is bool(wheels)
    if wheels:
        assert 'mmcv_lite-' in ' '.join(steps['install']['result']['wheels'])
    assert steps['data']['result']['generated'] is False
    train = steps['train_amp']['result']
    assert train['finite'] and len(train['losses']) == train['iters'] == 6
    eq = steps['equal']['result']
    assert eq['exact'] and eq['images'] == 3 and eq['detections'] > 0
    assert eq['batched_exact'] and eq['batch_size'] == 32, eq
    assert eq['batched_detections'] > 0 and not eq['batched_differ']
    dist = steps['dist_train']['result']
    assert dist['processes'] == 2 and dist['finite']
    targets = {t['key']: t for t in res['targets']}
    assert set(targets) == {
        'r50_train', 'mnet_train', 'mnet_vga_b1', 'mnet_vga_b32'
    }
    assert all(t['measured'] > 0 and t['met'] is None
               for t in targets.values())
    log = (out / 'device_check.log').read_text()
    assert 'tools/train.py' in log and 'dist_train.sh' in log
    assert 'benchmark_speed.py' in log and 'tools/test.py' in log


def test_read_losses_and_wheel_tags(tmp_path):
    tool = _load_tool()
    vis = tmp_path / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    rows = [
        dict(lr=0.1, loss=3.5, iter=2, step=2),
        dict(lr=0.1, loss=4.0, iter=1, step=1),
        dict(coco=1.0, step=2)
    ]
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows))
    assert tool.read_losses(str(tmp_path)) == [4.0, 3.5]
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        tool.read_losses(str(tmp_path / 'none'))
    assert tool.wheel_compatible('addict-2.4.0-py3-none-any.whl')
    assert not tool.wheel_compatible(
        'shapely-2.2.0-cp312-cp312-manylinux_2_17_aarch64.whl')
    size = tool.travelling_bytes()
    assert 0 < size['tree'] == size['total'] < tool.TRAVEL_LIMIT


def test_train_config_of_the_device_run(tmp_path):
    """The config of the GPU run (not the dry run's): the demo's model,
    train size and schedule but for the loop, batch 16, 16 workers."""
    from mmengine.config import Config
    tool = _load_tool()
    path = tmp_path / 'cfg.py'
    path.write_text(tool.train_config('/data/wf', 50, 16, 16))
    cfg = Config.fromfile(str(path))
    demo = Config.fromfile(osp.join(REPO_ROOT, tool.DEMO_CFG))
    assert cfg.model == demo.model
    assert cfg.train_dataloader.dataset.pipeline == \
        demo.train_dataloader.dataset.pipeline
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.train_dataloader.num_workers == 16
    assert cfg.train_dataloader.dataset.data_root == '/data/wf/'
    assert cfg.train_cfg == dict(
        type='IterBasedTrainLoop', max_iters=50, val_interval=51)
    assert cfg.test_evaluator.gt_dir == '/data/wf/ground_truth/'
    assert cfg.default_hooks.checkpoint.interval == 50


def test_compare_step_reads_results_without_running_code(tmp_path):
    """The compare step reads tools/test.py's --out pickle (mmdet's
    DumpDetResults: sample dicts of tensors and numpy values) through an
    allow-list: such a file loads; one calling anything else (here
    os.system) is refused naming the file and the global, nothing runs."""
    import pickle

    import numpy as np
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.fileio import dump
    from mmengine.structures import InstanceData

    from tests.test_mmcv_patches.checkpoint_cases import RunsCode
    tool = _load_tool()
    sample = DetDataSample(
        metainfo=dict(
            img_path='a.jpg',
            ori_shape=(10, 12),
            scale_factor=(0.5, 0.5),
            border=np.array([1., 2., 3., 4.], np.float32),
            img_id=np.int64(3)))
    sample.pred_instances = InstanceData(
        bboxes=torch.rand(3, 4),
        scores=torch.rand(3),
        labels=torch.zeros(3, dtype=torch.long),
        keypoints=torch.rand(3, 5, 2))
    good = tmp_path / 'results.pkl'
    dump([sample.to_dict()], str(good))  # as DumpDetResults writes it
    loaded = tool.load_test_results(str(good))[0]
    assert loaded['img_id'] == 3 and loaded['scale_factor'] == (0.5, 0.5)
    assert np.array_equal(loaded['border'], [1., 2., 3., 4.])
    for key, value in sample.pred_instances.items():
        assert torch.equal(loaded['pred_instances'][key], value), key
    marker = tmp_path / 'code_ran'
    evil = tmp_path / 'evil.pkl'
    evil.write_bytes(pickle.dumps([dict(img_path=RunsCode(marker))]))
    with pytest.raises(
            pickle.UnpicklingError,
            match=r'evil\.pkl: refused to load posix\.system'):
        tool.load_test_results(str(evil))
    assert not marker.exists()
