"""WIDER Face evaluation: every protocol rule on hand-made cases, random
cross-checks against the loop-style port, the shared reference case, and
bad-input messages."""
import json
import os
import os.path as osp
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.io import savemat

from mmdet_faces.evaluation.functional import (WIDERFaceEvalWarning,
                                               eval_face_ap,
                                               evaluate_widerface,
                                               load_widerface_gt,
                                               read_widerface_preds)
from tests.reference import widerface_eval_port as port
from tests.test_evaluation.widerface_helpers import (SETTINGS, random_case,
                                                     write_preds,
                                                     write_widerface_gt)


def _all(n=1):
    """Settings where the first ``n`` faces count everywhere."""
    idx = list(range(n))
    return dict(easy=idx, medium=idx, hard=idx)


def _port_aps(pred_dir, gt_dir, iou_thr=0.5):
    with np.errstate(all='ignore'):  # the port divides 0 by 0
        return port.evaluation(pred_dir, gt_dir, iou_thresh=iou_thr)


def _evaluate(tmp_path,
              images,
              preds,
              iou_thr=0.5,
              check_port=True,
              warns=None):
    """Evaluate from disk, with numpy errors and warnings raising (but a
    WIDERFaceEvalWarning matching ``warns``, which must come), and compare
    with the port."""
    gt_dir = write_widerface_gt(str(tmp_path / 'gt'), images)
    pred_dir = write_preds(str(tmp_path / 'pred'), preds)
    gt = load_widerface_gt(gt_dir)
    with warnings.catch_warnings(), np.errstate(all='raise'):
        warnings.simplefilter('error')
        if warns is None:
            result = evaluate_widerface(
                read_widerface_preds(pred_dir, gt), gt, iou_thr=iou_thr)
        else:
            with pytest.warns(WIDERFaceEvalWarning, match=warns):
                result = evaluate_widerface(
                    read_widerface_preds(pred_dir, gt), gt, iou_thr=iou_thr)
    if check_port:
        for ap, s in zip(_port_aps(pred_dir, gt_dir, iou_thr), SETTINGS):
            assert result[s] == pytest.approx(ap, abs=1e-12, nan_ok=True)
    return result


def test_overlaps_numpy_equals_loop():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 20, (30, 4)).astype(float)
    b = rng.integers(0, 20, (20, 4)).astype(float)
    a[:, 2:] = a[:, :2] + rng.integers(-2, 10, (30, 2)) + rng.random((30, 2))
    b[:, 2:] += b[:, :2]
    assert np.array_equal(
        port.bbox_overlaps(a, b), port.bbox_overlaps_loop(a, b))


def test_dont_care_face(tmp_path):
    # face 1 is only in "hard": in easy/medium a prediction on it is ignored
    images = [('0--E', 'img_1', [[10, 10, 20, 20], [50, 50, 20, 20]],
               dict(easy=[0], medium=[0], hard=[0, 1]))]
    preds = {'0--E/img_1': [[50, 50, 20, 20, 0.9], [10, 10, 20, 20, 0.8]]}
    r = _evaluate(tmp_path, images, preds)
    assert r['easy'] == r['medium'] == r['hard'] == 1.0
    # the prediction on the don't-care face is neither TP nor FP
    assert r['curves']['easy']['proposals'][0] == 0
    assert r['curves']['easy']['proposals'][-1] == 1
    assert r['curves']['hard']['proposals'][-1] == 2
    assert r['num_faces'] == dict(easy=1, medium=1, hard=2)


def test_duplicates_are_false_positives(tmp_path):
    images = [('0--E', 'img_1', [[0, 0, 20, 20], [100, 100, 20, 20]],
               dict(easy=[0, 1], medium=[0, 1], hard=[0, 1]))]
    preds = {
        '0--E/img_1': [[0, 0, 20, 20, 0.9], [1, 0, 20, 20, 0.8],
                       [100, 100, 20, 20, 0.7]]
    }
    r = _evaluate(tmp_path, images, preds)
    # normalised scores 1, 0.5, 0: (1 TP) -> (TP, FP) -> (TP, FP, TP)
    c = r['curves']['easy']
    assert (c['proposals'][498], c['recalled'][498]) == (1, 1)
    assert (c['proposals'][499], c['recalled'][499]) == (2, 1)
    assert (c['proposals'][999], c['recalled'][999]) == (3, 2)
    assert r['easy'] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-15)


def test_prediction_sees_only_its_best_face(tmp_path):
    # the second prediction ties on both faces: it takes the first face,
    # already recalled, and is a false positive (face 1 stays missed)
    images = [('0--E', 'img_1', [[0, 0, 20, 20], [2, 0, 20, 20]],
               dict(easy=[0, 1], medium=[0, 1], hard=[0, 1]))]
    preds = {'0--E/img_1': [[0, 0, 20, 20, 0.9], [1, 0, 20, 20, 0.8]]}
    r = _evaluate(tmp_path, images, preds)
    assert r['hard'] == 0.5
    assert r['curves']['hard']['recalled'][-1] == 1


def test_tie_on_faces_picks_first_index(tmp_path):
    # identical faces: the first one (don't care in easy) is matched
    images = [('0--E', 'img_1', [[0, 0, 20, 20], [0, 0, 20, 20]],
               dict(easy=[1], medium=[0, 1], hard=[0, 1]))]
    preds = {'0--E/img_1': [[0, 0, 20, 20, 0.9], [90, 90, 5, 5, 0.1]]}
    r = _evaluate(tmp_path, images, preds)
    assert r['easy'] == 0.0
    assert r['curves']['easy']['proposals'][0] == 0
    assert r['hard'] == 0.5


def test_equal_scores_pass_no_threshold(tmp_path):
    # one score value s in [0, 1]: min = max = s, the port's normalisation
    # gives NaN and nothing passes any threshold (AP 0)
    images = [('0--E', 'a_1', [[0, 0, 20, 20]], _all())]
    preds = {'0--E/a_1': [[0, 0, 20, 20, 0.9], [0, 0, 20, 20, 0.9]]}
    # the number stays the protocol's, but not silently
    r = _evaluate(
        tmp_path,
        images,
        preds,
        warns=r'all 2 prediction scores are 0\.9.*every AP is 0')
    assert r['hard'] == 0.0
    assert r['curves']['hard']['proposals'].max() == 0
    # in memory and for custom data sets too
    with pytest.warns(WIDERFaceEvalWarning, match='all 1 prediction scores'):
        eval_face_ap([np.array([[0, 0, 20, 20, 1.0]])],
                     [np.array([[0., 0, 20, 20]])])


def test_images_without_faces_or_predictions(tmp_path):
    images = [
        ('0--E', 'a_1', [[0, 0, 20, 20]], _all()),
        ('0--E', 'b_2', [[0, 0, 20, 20]], _all()),  # no predictions
        ('1--F', 'c_3', np.zeros((0, 4)), {}),  # no faces
    ]
    preds = {
        '0--E/a_1': [[0, 0, 20, 20, 0.9]],
        '0--E/b_2': np.zeros((0, 5)),
        # ignored, but they take part in the score normalisation
        '1--F/c_3': [[5, 5, 10, 10, 0.95], [50, 5, 10, 10, 0.1]],
    }
    r = _evaluate(tmp_path, images, preds)
    assert r['hard'] == 0.5  # the face of "b" counts in the denominator
    assert r['curves']['hard']['proposals'].max() == 1
    assert r['num_faces']['hard'] == 2
    # 0.9 normalised with min 0.1 and max 0.95 passes t_k for k >= 58
    assert r['curves']['hard']['proposals'][57] == 0
    assert r['curves']['hard']['proposals'][58] == 1


def test_extra_prediction_files_only_normalise(tmp_path):
    # a file for an image outside the ground truth (the port reads every
    # file) moves the normalisation but adds no proposal
    images = [('0--E', 'a_1', [[0, 0, 20, 20]], _all()),
              ('0--E', 'b_2', [[0, 0, 20, 20]], _all())]
    preds = {
        '0--E/a_1': [[0, 0, 20, 20, 0.9]],
        '0--E/b_2': [[0, 0, 20, 20, 0.1]],
        '9--X/extra_1': [[0, 0, 5, 5, 2.0]]
    }
    # the reference behaviour, but with a warning that counts the files
    r = _evaluate(
        tmp_path,
        images,
        preds,
        warns=r'1 prediction files .* not in the ground truth '
        r'\(9--X/extra_1\.txt\).*from \[0\.1, 0\.9\] to '
        r'\[0\.1, 2\]')
    c = r['curves']['hard']
    # (0.9 - 0.1) / (2.0 - 0.1) = 0.421: passes t_k from k = 578 on
    assert c['proposals'][577] == 0 and c['proposals'][578] == 1
    assert c['proposals'][-1] == 2 and r['hard'] == 1.0
    # an extra file inside the score range changes nothing: said so
    preds['9--X/extra_1'] = [[0, 0, 5, 5, 0.5]]
    r2 = _evaluate(
        tmp_path / 'inside',
        images,
        preds,
        warns='do not change the score range, nor the APs')
    assert r2['hard'] == 1.0


def test_last_prediction_above_threshold_unsorted_and_ties(tmp_path):
    # rows are used in file order; at a threshold, the LAST row whose score
    # passes counts all the rows before it, whatever their scores
    images = [('0--E', 'img_1', [[0, 0, 20, 20], [100, 0, 20, 20]], _all(2))]
    preds = {
        '0--E/img_1': [[0, 0, 20, 20, 0.3], [100, 0, 20, 20, 0.9],
                       [50, 50, 20, 20, 0.3]]
    }
    r = _evaluate(tmp_path, images, preds)
    c = r['curves']['hard']
    assert (c['proposals'][0], c['recalled'][0]) == (2, 2)
    assert (c['proposals'][998], c['recalled'][998]) == (2, 2)
    assert (c['proposals'][999], c['recalled'][999]) == (3, 2)
    # (score-sorted rows would give 0.5 + 0.5 * 2 / 3)
    assert r['hard'] == 1.0


def test_score_normalisation_out_of_range(tmp_path):
    # running min starts at 1: scores 4 and 2 become 1 and 1/3
    images = [('0--E', 'a_1', [[0, 0, 20, 20]], _all()),
              ('0--E', 'b_2', [[0, 0, 20, 20]], _all())]
    preds = {
        '0--E/a_1': [[0, 0, 20, 20, 4.0]],
        '0--E/b_2': [[0, 0, 20, 20, 2.0]]
    }
    r = _evaluate(tmp_path, images, preds)
    assert r['curves']['hard']['proposals'][665] == 1
    assert r['curves']['hard']['proposals'][666] == 2
    assert r['hard'] == 1.0


def test_nan_free_top_thresholds(tmp_path):
    # negative scores: the max stays 0, so nothing passes the top
    # thresholds (0/0 precision in the port); same AP, no warning
    images = [('0--E', 'a_1', [[0, 0, 20, 20], [40, 0, 20, 20]], _all(2))]
    preds = {
        '0--E/a_1': [[0, 0, 20, 20, -0.5], [70, 0, 20, 20, -0.7],
                     [40, 0, 20, 20, -1.0]]
    }
    r = _evaluate(tmp_path, images, preds)  # raises on any numpy warning
    c = r['curves']['hard']
    assert c['proposals'][0] == 0 and c['precision'][0] == 0
    assert np.isfinite(c['precision']).all()
    assert r['hard'] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-15)


def test_iou_exactly_half_with_plus_one(tmp_path):
    # corners (0, 0, 9, 9) vs (0, 0, 9, 4): (10 * 5) / (10 * 10) = 0.5
    images = [('0--E', 'a_1', [[0, 0, 9, 9]], _all())]
    far = [50, 50, 9, 9, 0.1]
    r = _evaluate(tmp_path / 'tp', images,
                  {'0--E/a_1': [[0, 0, 9, 4, 0.9], far]})
    assert r['hard'] == 1.0
    r = _evaluate(tmp_path / 'fp', images,
                  {'0--E/a_1': [[0, 0, 9, 3.99, 0.9], far]})
    assert r['hard'] == 0.0


def test_empty_setting_and_no_predictions(tmp_path):
    images = [('0--E', 'a_1', [[0, 0, 20, 20]], dict(hard=[0]))]
    r = _evaluate(tmp_path, images, {'0--E/a_1': np.zeros((0, 5))})
    assert np.isnan(r['easy']) and r['hard'] == 0.0


@pytest.mark.parametrize('iou_thr', [0.5, 0.3, 0.7])
def test_random_cases_match_port(tmp_path, iou_thr):
    rng = np.random.default_rng(int(iou_thr * 10))
    for i in range(4):
        images, preds = random_case(rng)
        gt_dir = write_widerface_gt(str(tmp_path / f'gt{i}'), images)
        pred_dir = write_preds(str(tmp_path / f'pred{i}'), preds)
        with np.errstate(all='ignore'):
            aps, curves = port.evaluation(
                pred_dir, gt_dir, iou_thresh=iou_thr, return_curves=True)
        gt = load_widerface_gt(gt_dir)
        with warnings.catch_warnings(), np.errstate(all='raise'):
            warnings.simplefilter('error')
            r = evaluate_widerface(
                read_widerface_preds(pred_dir, gt), gt, iou_thr=iou_thr)
        for ap, curve, s in zip(aps, curves, SETTINGS):
            if np.isnan(ap):
                assert np.isnan(r[s])
                continue
            assert abs(r[s] - ap) <= 1e-9
            assert np.array_equal(r['curves'][s]['recall'], curve[:, 1])
            ok = np.isfinite(curve[:, 0])
            assert np.array_equal(r['curves'][s]['precision'][ok], curve[ok,
                                                                         0])


def test_in_memory_mapping_and_missing(tmp_path):
    rng = np.random.default_rng(5)
    images, preds = random_case(rng)
    gt = load_widerface_gt(write_widerface_gt(str(tmp_path / 'gt'), images))
    from_disk = evaluate_widerface(
        read_widerface_preds(write_preds(str(tmp_path / 'p'), preds), gt), gt)
    mapping = {k: preds[k] for k in reversed(list(preds))}
    in_memory = evaluate_widerface(mapping, gt, allfaces=True)
    for s in SETTINGS:
        assert in_memory[s] == pytest.approx(from_disk[s], nan_ok=True)
    missing = dict(list(preds.items())[1:])
    with pytest.raises(KeyError, match='1 of'):
        evaluate_widerface(missing, gt)
    partial = evaluate_widerface(
        missing, gt, allow_missing=True, allfaces=True)
    empty = dict(preds, **{list(preds)[0]: np.zeros((0, 5))})
    for s in SETTINGS:
        assert partial[s] == pytest.approx(
            evaluate_widerface(empty, gt)[s], nan_ok=True)
    # allfaces counts only the faces of the images present
    n0 = int(gt['offsets'][1])
    assert partial['num_faces']['allfaces'] == len(gt['boxes']) - n0


def test_in_memory_bad_values_name_the_image(tmp_path):
    images = [('0--E', 'a_1', [[0, 0, 20, 20]], _all()),
              ('0--E', 'b_2', [[0, 0, 20, 20]], _all())]
    gt = load_widerface_gt(write_widerface_gt(str(tmp_path / 'gt'), images))
    ok = [[0, 0, 20, 20, 0.9]]
    # x + w overflows to inf: was an IndexError deep in the matching
    huge = {
        '0--E/a_1': ok,
        '0--E/b_2': ok + [[1e308, 1e308, 1e308, 1e308, 0.5]]
    }
    with pytest.raises(ValueError, match=r"overflows.*'0--E/b_2' \(row 1\)"):
        evaluate_widerface(huge, gt)
    nan = {'0--E/a_1': ok, '0--E/b_2': [[0, 0, 20, 20, float('nan')]]}
    with pytest.raises(ValueError, match=r"finite.*'0--E/b_2' \(row 0\)"):
        evaluate_widerface(nan, gt)


def test_reference_case(tmp_path, shared_dir, wider_val_gt_dir):
    with open(osp.join(shared_dir, 'widerface_eval_cases.json')) as f:
        cases = json.load(f)['cases']
    gt = load_widerface_gt(wider_val_gt_dir)
    assert len(gt['names']) == 3226 and len(gt['boxes']) == 39708
    assert gt['num_faces'] == dict(easy=7211, medium=13319, hard=31958)
    case = cases[0]
    pred_dir = str(tmp_path / f'seed{case["seed"]}')
    subprocess.run([
        sys.executable,
        osp.join(shared_dir, 'tools', 'make_widerface_preds.py'),
        wider_val_gt_dir, pred_dir,
        str(case['seed'])
    ],
                   check=True,
                   stdout=subprocess.DEVNULL)
    preds = read_widerface_preds(pred_dir, gt)
    assert len(preds['dets']) == case['detections']
    r = evaluate_widerface(preds, gt)
    for s in SETTINGS:
        assert abs(r[s] - case[s]) <= 1e-6, s


# ----------------------------------------------------------------------------
# reading and bad input
# ----------------------------------------------------------------------------
def _write(path, text):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', newline='') as f:
        f.write(text)


def test_reader_parses_like_float(tmp_path):
    tokens = [
        '0', '-0.5', '+3', '12.25', '.5', '5.', '1e-3', '1.5E+2', '007.100',
        '123456789012345', '1234567890123456789', '0.12345678901234567',
        '-999999.999999', '0.000001', '4.0000000000000001', '1e300', '-0.0',
        '3.14159', '2.718281828459045', '100', '1_0'
    ]
    tokens = tokens + ['1'] * (-len(tokens) % 5)
    rows = [tokens[i:i + 5] for i in range(0, len(tokens), 5)]
    body = ''
    for i, r in enumerate(rows):  # blank lines, tabs, CRLF, no final EOL
        sep = '\t ' if i % 2 else ' '
        body += sep.join(r) + ('\r\n' if i % 2 else '\n') + ('\n' if i else '')
    _write(str(tmp_path / 'e' / 'a.txt'), f'a\n{len(rows)}\n' + body[:-1])
    dets = read_widerface_preds(str(tmp_path))['dets']
    expected = np.array([float(t) for t in tokens]).reshape(-1, 5)
    assert dets.tobytes() == expected.tobytes()


def test_reader_layout(tmp_path):
    _write(str(tmp_path / 'e1' / 'b.txt'), 'b\n0\n')
    _write(str(tmp_path / 'e1' / 'a.txt'), 'whatever.jpg\n1\n1 2 3 4 0.5\n')
    _write(str(tmp_path / 'e1' / 'notes.md'), 'ignored')
    preds = read_widerface_preds(str(tmp_path))
    assert preds['names'] == ['e1/a', 'e1/b']
    assert preds['offsets'].tolist() == [0, 1, 1]


def test_missing_prediction_files(tmp_path):
    images = [('0--E', f'img_{i:02d}', [[0, 0, 20, 20]], _all())
              for i in range(12)]
    gt = load_widerface_gt(write_widerface_gt(str(tmp_path / 'gt'), images))
    write_preds(str(tmp_path / 'p'), {'0--E/img_00': [[0, 0, 20, 20, 0.5]]})
    with pytest.raises(FileNotFoundError) as e:
        read_widerface_preds(str(tmp_path / 'p'), gt)
    msg = str(e.value)
    assert '11 of 12' in msg and '0--E/img_01.txt' in msg
    assert '0--E/img_10.txt' in msg and '0--E/img_11.txt' not in msg
    with pytest.raises(FileNotFoundError, match='not found'):
        read_widerface_preds(str(tmp_path / 'nope'), gt)


@pytest.mark.parametrize(
    'text, match',
    [
        ('a\n2\n1 2 3 4 0.5\n1 2 3 4\n', r'a\.txt:4: expected 5 numbers'),
        ('a\n2\n1 2 3 4 0.5\n1 2 3 4 0.5 7\n',
         r'a\.txt:4: expected 5 numbers'),
        ('a\n3\n1 2 3 4 0.5\n1 2 3 4 0.5\n',
         r'a\.txt:2: .*says 3 boxes.* 2 box'),
        ('a\n1\n1 2 3 4 nan\n', r'a\.txt:3: non-finite score'),
        ('a\n1\n1 2 inf 4 0.5\n', r'a\.txt:3: non-finite box'),
        # finite numbers whose corner x + w overflows (was an IndexError)
        ('a\n2\n1 2 3 4 0.5\n1e308 0 1e308 4 0.5\n',
         r'a\.txt:4: x \+ w or y \+ h overflows'),
        ('a\n1\n0 -1.5e308 1 -1e308 0.5\n', r'a\.txt:3: x \+ w or y \+ h'),
        ('a\n2\n1 2 3 4 0.5\n1 2 3 x4 0.5\n', r'a\.txt:4: not a number'),
        ('a\ntwo\n', r'a\.txt:2: expected the number of boxes'),
        ('a', r'a\.txt: the file has only one line'),
    ])
def test_malformed_prediction_file(tmp_path, text, match):
    _write(str(tmp_path / 'e' / 'z.txt'), 'z\n1\n1 2 3 4 0.5\n')
    _write(str(tmp_path / 'e' / 'a.txt'), text)
    with pytest.raises(ValueError, match=match):
        read_widerface_preds(str(tmp_path))


def test_bad_ground_truth(tmp_path):
    gt_dir = write_widerface_gt(
        str(tmp_path / 'gt'), [('0--E', 'a', [[0, 0, 2, 2]], _all())])
    assert load_widerface_gt(gt_dir)['boxes'].dtype == np.float64
    os.remove(osp.join(gt_dir, 'wider_hard_val.mat'))
    with pytest.raises(FileNotFoundError, match='wider_hard_val.mat'):
        load_widerface_gt(gt_dir)
    savemat(osp.join(gt_dir, 'wider_hard_val.mat'), {'foo': np.eye(2)})
    with pytest.raises(
            ValueError, match=r"wider_hard_val.mat.*\['gt_list'\].*'foo'"):
        load_widerface_gt(gt_dir)
    savemat(osp.join(gt_dir, 'wider_face_val.mat'), {'gt_list': np.eye(2)})
    with pytest.raises(ValueError, match="wider_face_val.mat.*event_list"):
        load_widerface_gt(gt_dir)
    with pytest.raises(FileNotFoundError, match='not found'):
        load_widerface_gt(str(tmp_path / 'nope'))


# ----------------------------------------------------------------------------
# plain AP for custom data sets
# ----------------------------------------------------------------------------
def test_eval_face_ap_size_buckets():
    gts = [np.array([[0, 0, 10, 10], [0, 100, 200, 300]], float)]
    preds = [np.array([[0, 0, 10, 10, 0.9], [500, 500, 520, 520, 0.5]])]
    with warnings.catch_warnings(), np.errstate(all='raise'):
        warnings.simplefilter('error')
        r = eval_face_ap(preds, gts)
    assert r['num_faces'] == dict(all=2, small=1, medium=0, large=1)
    assert r['all'] == 0.5
    assert r['small'] == 1.0  # the large face is don't care here
    assert r['large'] == 0.0
    assert np.isnan(r['medium'])
    # an ignored face is don't care everywhere
    r = eval_face_ap(preds, gts, ignores=[np.array([False, True])])
    assert r['all'] == 1.0 and r['num_faces']['large'] == 0
    r = eval_face_ap(
        preds, gts, size_buckets=dict(tall=(150, 1e9)), size_mode='height')
    assert set(r) == {'all', 'tall', 'num_faces', 'curves'}
    assert r['num_faces']['tall'] == 1
    with pytest.raises(ValueError, match='prediction arrays'):
        eval_face_ap(preds, gts * 2)
    with pytest.raises(ValueError, match=r'preds\[0\]: expected an \(N, 5\)'):
        eval_face_ap([np.zeros((5, 4))], gts)


def test_eval_face_ap_equals_widerface_rules(tmp_path):
    rng = np.random.default_rng(3)
    images, preds = random_case(rng, max_faces=10, max_preds=20)
    gt = load_widerface_gt(write_widerface_gt(str(tmp_path / 'gt'), images))
    ref = evaluate_widerface(preds, gt)
    xyxy = [
        np.asarray(preds[f'{e}/{n}'], float).reshape(-1, 5).copy()
        for e, n, _, _ in images
    ]
    for p in xyxy:
        p[:, 2:4] += p[:, :2]
    gts, ignores = [], []
    for i in range(len(images)):
        b = gt['boxes'][gt['offsets'][i]:gt['offsets'][i + 1]].copy()
        b[:, 2:] += b[:, :2]
        gts.append(b)
        ignores.append(
            ~gt['settings']['hard'][gt['offsets'][i]:gt['offsets'][i + 1]])
    r = eval_face_ap(xyxy, gts, ignores, size_buckets=None)
    assert r['all'] == ref['hard']
