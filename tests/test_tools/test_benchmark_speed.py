"""tools/analysis_tools/benchmark_speed.py runs end to end (no timing
asserts: a benchmark measures, this test only checks that it runs, that
every requested row is there and that the table / JSON agree)."""
import json
import os.path as osp
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark_speed.py')


@pytest.mark.parametrize(
    'flags', [[], ['--amp', '--channels-last']],
    ids=['fp32', 'amp-channels-last'])
def test_benchmark_speed_cpu(tiny_widerface, tmp_path, flags):
    out = tmp_path / 'sub' / 'bench.json'
    cmd = [
        sys.executable, TOOL, '--device', 'cpu', '--models', 'mnet025',
        '--sizes', 'vga', '--batch', '2', '--iters', '1', '--warmup', '0',
        '--min-time', '0', '--train-iters', '1', '--train-batch', '2',
        '--workers', '0', '--threads', '1', '--data-root', tiny_widerface,
        '--out-json',
        str(out)
    ] + flags
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        text=True,
        timeout=600,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    assert proc.returncode == 0, proc.stdout[-5000:]
    result = json.loads(out.read_text())
    assert result['env']['torch'] and result['env']['mmdet']
    (row, ) = result['inference']
    assert row['model'] == 'RetinaFace-MobileNet0.25'
    assert row['input'] == '640x480' and row['batch'] == 2
    assert row['e2e_b1_ms'] > 0 and row['net_b1_ms'] > 0
    assert row['e2e_bN_img_s'] > 0
    # the random model is calibrated to give a trained model's candidates
    assert row['dets'] > 0
    (train, ) = result['training']
    assert train['input'] == '640x640' and train['batch'] == 2
    assert train['data'] == 'real' and train['img_s'] > 0
    precision = 'AMP, channels_last' if flags else 'fp32'
    assert f'precision: {precision}' in result['table']
    assert '| RetinaFace-MobileNet0.25 | 640x480 |' in result['table']
    assert result['table'] in proc.stdout


def test_benchmark_speed_scrfd_inference(tiny_widerface):
    """SCRFD rows: sigmoid-score calibration, the network timed on the
    640x640 input the VGA test pipeline pads to."""
    from tests.testing import load_script
    tool = load_script('tools/analysis_tools/benchmark_speed.py')
    result = tool.main([
        '--device', 'cpu', '--models', 'scrfd_500m', '--sizes', 'vga',
        '--batch', '2', '--iters', '1', '--warmup', '0', '--min-time', '0',
        '--no-train', '--threads', '1', '--data-root', tiny_widerface
    ])
    (row, ) = result['inference']
    assert row['model'] == 'SCRFD-500M' and row['input'] == '640x480'
    assert row['net_input'] == '640x640' and row['dets'] > 0
    assert row['e2e_b1_ms'] > 0 and row['net_b1_ms'] > 0
