"""tools/analysis_tools/eval_widerface.py end to end."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmdet_faces.evaluation.functional import (evaluate_widerface,
                                               load_widerface_gt)
from tests.reference import widerface_eval_port as port
from tests.test_evaluation.widerface_helpers import (SETTINGS, random_case,
                                                     write_preds,
                                                     write_widerface_gt)

TOOL = osp.join('tools', 'analysis_tools', 'eval_widerface.py')


@pytest.fixture
def folders(tmp_path):
    images, preds = random_case(np.random.default_rng(11), max_faces=9)
    gt_dir = write_widerface_gt(str(tmp_path / 'gt'), images)
    pred_dir = write_preds(str(tmp_path / 'pred'), preds)
    return gt_dir, pred_dir, preds


@pytest.fixture
def tool(repo_root):
    spec = importlib.util.spec_from_file_location('eval_widerface_tool',
                                                  osp.join(repo_root, TOOL))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_end_to_end(tmp_path, repo_root, folders):
    gt_dir, pred_dir, preds = folders
    out_json, plot = str(tmp_path / 'r.json'), str(tmp_path / 'pr.png')
    proc = subprocess.run([
        sys.executable, TOOL, pred_dir, gt_dir, '--out-json', out_json,
        '--plot', plot
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert 'easy' in proc.stdout and 'hard' in proc.stdout
    with open(out_json) as f:
        res = json.load(f)
    assert {'easy', 'medium', 'hard', 'seconds'} <= set(res)
    assert all(isinstance(res[k], float) for k in SETTINGS + ('seconds', ))
    ref = evaluate_widerface(preds, load_widerface_gt(gt_dir))
    for s in SETTINGS:
        assert res[s] == ref[s]
    with open(plot, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_cli_iou_thr(tmp_path, tool, folders):
    gt_dir, pred_dir, preds = folders
    out_json = str(tmp_path / 'r.json')
    assert tool.main(
        [pred_dir, gt_dir, '--out-json', out_json, '--iou-thr', '0.7']) == 0
    with open(out_json) as f:
        res = json.load(f)
    ref = evaluate_widerface(preds, load_widerface_gt(gt_dir), iou_thr=0.7)
    assert res['iou_thr'] == 0.7 and res['hard'] == ref['hard']


def test_cli_errors(tmp_path, tool, folders, capsys):
    gt_dir, pred_dir, _ = folders

    def error(*argv):
        assert tool.main(list(argv)) == 2
        err = capsys.readouterr().err.strip()
        assert '\n' not in err and err.startswith('eval_widerface: error:')
        return err

    assert 'prediction folder not found' in error(str(tmp_path / 'x'), gt_dir)
    assert 'ground-truth folder not found' in error(pred_dir,
                                                    str(tmp_path / 'x'))
    os.remove(osp.join(gt_dir, 'wider_medium_val.mat'))
    assert 'wider_medium_val.mat' in error(pred_dir, gt_dir)

    gt_dir = write_widerface_gt(
        str(tmp_path / 'gt2'),
        [('0--E', f'img_{i}', [[0, 0, 9, 9]], dict(hard=[0]))
         for i in range(3)])
    write_preds(str(tmp_path / 'p2'), {'0--E/img_0': [[0, 0, 9, 9, 1]]})
    msg = error(str(tmp_path / 'p2'), gt_dir)
    assert '2 of 3' in msg and '0--E/img_2.txt' in msg
    with open(osp.join(tmp_path, 'p2', '0--E', 'img_1.txt'), 'w') as f:
        f.write('img_1\n1\n0 0 9\n')
    with open(osp.join(tmp_path, 'p2', '0--E', 'img_2.txt'), 'w') as f:
        f.write('img_2\n0\n')
    assert 'img_1.txt:3: expected 5 numbers' in error(
        str(tmp_path / 'p2'), gt_dir)


def test_cli_warnings(tmp_path, tool, capsys):
    images = [('0--E', f'img_{i}', [[0, 0, 9,
                                     9]], dict(easy=[0], medium=[0], hard=[0]))
              for i in range(2)]
    gt_dir = write_widerface_gt(str(tmp_path / 'gt'), images)
    ok = {'0--E/img_0': [[0, 0, 9, 9, 0.9]], '0--E/img_1': [[0, 0, 9, 9, .5]]}
    pred_dir = write_preds(str(tmp_path / 'p'), ok)
    out_json = str(tmp_path / 'r.json')
    assert tool.main([pred_dir, gt_dir, '--out-json', out_json]) == 0
    assert capsys.readouterr().err == ''
    assert json.load(open(out_json))['easy'] == 1.0

    # a stray file of an image outside the ground truth moves the score
    # normalisation (the reference does the same): same number, a warning
    write_preds(pred_dir, {'9--X/stray': [[0, 0, 5, 5, 50.0]]})
    assert tool.main([pred_dir, gt_dir, '--out-json', out_json]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('eval_widerface: warning: 1 '
                                               'prediction files')
    assert '9--X/stray.txt' in err[0] and 'from [0.5, 0.9] to [0.5, 50]' \
        in err[0]
    with np.errstate(all='ignore'):
        ref = port.evaluation(pred_dir, gt_dir)
    res = json.load(open(out_json))
    assert [res[s] for s in SETTINGS] == pytest.approx(list(ref), abs=1e-12)

    # every score equal: AP 0 as the reference, with a warning
    pred_dir = write_preds(
        str(tmp_path / 'same'), {k: [[0, 0, 9, 9, 1.0]]
                                 for k in ok})
    assert tool.main([pred_dir, gt_dir]) == 0
    err = capsys.readouterr().err
    assert 'eval_widerface: warning: all 2 prediction scores are 1' in err


def test_cli_huge_coordinates(tmp_path, tool, capsys):
    # x + w overflowed to inf: an IndexError traceback deep in the matching
    gt_dir = write_widerface_gt(
        str(tmp_path / 'gt'),
        [('0--E', 'img_0', [[0, 0, 9, 9]], dict(hard=[0]))])
    pred_dir = write_preds(
        str(tmp_path / 'p'),
        {'0--E/img_0': [[0, 0, 9, 9, 0.5], [1e308, 1e308, 1e308, 1e308, 0.9]]})
    assert tool.main([pred_dir, gt_dir]) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and err.startswith('eval_widerface: error:')
    assert 'img_0.txt:4: x + w or y + h overflows' in err
