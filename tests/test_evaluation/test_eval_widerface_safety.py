"""tools/analysis_tools/eval_widerface.py with careless input: boxes of
negative size and files of other images are counted in warnings, swapped
ground-truth files are an error (issue #11, item 7)."""
import json
import os

from tests.test_evaluation.widerface_helpers import (write_preds,
                                                     write_widerface_gt)
from tests.test_mmcv_patches.checkpoint_cases import tree_digest
from tests.testing import load_script

tool = load_script('tools/analysis_tools/eval_widerface.py',
                   'safety_eval_widerface')
# two images, two faces each: one easy, both medium and hard
IMAGES = [('0--E', f'img_{i}', [[0, 0, 9, 9], [20, 20, 9, 9]],
           dict(easy=[0], medium=[0, 1], hard=[0, 1])) for i in range(2)]


def test_negative_sizes_and_other_images_are_counted(tmp_path, capsys):
    gt_dir = write_widerface_gt(str(tmp_path / 'gt'), IMAGES)
    pred_dir = write_preds(
        str(tmp_path / 'pred'), {
            '0--E/img_0': [[0, 0, 9, 9, 0.9], [29, 29, -9, -9, 0.8]],
            '0--E/img_1': [[20, 20, 9, 9, 0.7]],
            '9--X/other': [[0, 0, 5, 5, 0.5]] * 3,
        })
    before = tree_digest(tmp_path)
    out_json = str(tmp_path / 'r.json')
    assert tool.main([pred_dir, gt_dir, '--out-json', out_json]) == 0
    out, err = capsys.readouterr()
    err = err.strip().splitlines()
    assert len(err) == 2, err
    assert err[0].startswith('eval_widerface: warning: 1 box rows in 1 '
                             'prediction files have a negative width')
    assert 'img_0.txt:4' in err[0] and '-9.0' in err[0]
    assert err[1].startswith('eval_widerface: warning: 1 prediction files')
    assert '(3 detections) are for images not in the ground truth' in err[1]
    assert 'WIDER Face val AP (3 detections, 2 images' in out
    with open(out_json) as f:
        res = json.load(f)
    assert res['detections'] == 3 and res['detections_not_evaluated'] == 3
    os.remove(out_json)
    assert tree_digest(tmp_path) == before


def test_swapped_setting_files_are_an_error(tmp_path, capsys):
    gt_dir = write_widerface_gt(str(tmp_path / 'gt'), IMAGES)
    pred_dir = write_preds(
        str(tmp_path / 'pred'),
        {f'0--E/img_{i}': [[0, 0, 9, 9, 0.9]]
         for i in range(2)})
    easy, hard = (
        os.path.join(gt_dir, f'wider_{s}_val.mat') for s in ('easy', 'hard'))
    os.rename(easy, easy + '.tmp')
    os.rename(hard, easy)
    os.rename(easy + '.tmp', hard)
    before = tree_digest(tmp_path)
    assert tool.main([pred_dir, gt_dir]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('eval_widerface: error: ')
    assert 'wider_medium_val.mat and' in err[0] and 'swapped' in err[0]
    assert '2 of the 4 medium faces are not hard faces' in err[0]
    assert tree_digest(tmp_path) == before


def test_outputs_that_are_inputs_are_refused(tmp_path, capsys):
    """``--out-json`` / ``--plot`` onto a ground-truth or prediction file
    (or a link to one, or each other) and ``--plot p.txt`` are one line
    each, before any evaluation; no file changes (issue #11)."""
    gt_dir = write_widerface_gt(str(tmp_path / 'gt'), IMAGES)
    pred_dir = write_preds(
        str(tmp_path / 'pred'),
        {f'0--E/img_{i}': [[0, 0, 9, 9, 0.9]]
         for i in range(2)})
    mat = os.path.join(gt_dir, 'wider_face_val.mat')
    pred = os.path.join(pred_dir, '0--E', 'img_1.txt')
    os.symlink(
        os.path.join(gt_dir, 'wider_hard_val.mat'), tmp_path / 'link.mat')
    out_json = str(tmp_path / 'r.json')
    before = tree_digest(tmp_path)
    cases = [
        (['--out-json', mat], f'--out-json {mat} is the input ground-truth '
         'file: writing it would destroy that input'),
        (['--plot', pred], f'--plot {pred} is the input prediction file'),
        (['--out-json', str(tmp_path / 'link.mat')],
         f'--out-json {tmp_path / "link.mat"} is the input ground-truth '
         'file'),
        (['--out-json', out_json, '--plot',
          out_json], f'--plot {out_json} is also --out-json: the figure would '
         'overwrite the JSON'),
        (['--plot', str(tmp_path / 'p.txt')],
         f'--plot {tmp_path / "p.txt"}: matplotlib writes no .txt files; '
         'give one of'),
    ]
    for extra, words in cases:
        assert tool.main([pred_dir, gt_dir] + extra) == 2, extra
        out, err = capsys.readouterr()
        assert not out and err.count('\n') == 1, err
        assert err.startswith('eval_widerface: error: ' + words), err
    assert tree_digest(tmp_path) == before
    plot = str(tmp_path / 'pr.png')
    assert tool.main(
        [pred_dir, gt_dir, '--out-json', out_json, '--plot', plot]) == 0
    with open(plot, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert sorted(os.listdir(tmp_path)) == sorted(
        ['gt', 'pred', 'link.mat', 'r.json', 'pr.png'])
