"""WIDERFaceMetric through mmengine's Evaluator, with and without gt_dir."""
import logging
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.registry import METRICS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData

from mmdet_faces.evaluation import WIDERFaceMetric
from mmdet_faces.evaluation.functional import (eval_face_ap,
                                               evaluate_widerface,
                                               load_widerface_gt,
                                               read_widerface_preds)
from tests.reference import widerface_eval_port as port
from tests.test_evaluation.widerface_helpers import (SETTINGS, random_case,
                                                     write_widerface_gt)


def _sample(key, dets_xyxy, gt=None, ignored=None):
    """A DetDataSample with predictions (and annotations) for one image."""
    ds = DetDataSample(metainfo=dict(img_path=f'/data/val/images/{key}.jpg'))
    dets = torch.as_tensor(np.asarray(dets_xyxy, np.float32).reshape(-1, 5))
    ds.pred_instances = InstanceData(
        bboxes=dets[:, :4],
        scores=dets[:, 4],
        labels=torch.zeros(len(dets), dtype=torch.long))
    for field, boxes in (('gt_instances', gt), ('ignored_instances', ignored)):
        if boxes is not None:
            b = torch.as_tensor(np.asarray(boxes, np.float32).reshape(-1, 4))
            setattr(
                ds, field,
                InstanceData(
                    bboxes=HorizontalBoxes(b),
                    labels=torch.zeros(len(b), dtype=torch.long)))
    return ds


def _xyxy(xywh):
    d = np.asarray(xywh, np.float64).reshape(-1, 5).copy()
    d[:, 2:4] += d[:, :2]
    return d


def _shuffled(rng, rows):
    return rows[rng.permutation(len(rows))]


def _score_sorted(preds):
    """Rows sorted by score as the metric does (stable, float32 scores)."""
    out = {}
    for k, v in preds.items():
        v = np.asarray(v, np.float64).reshape(-1, 5)
        out[k] = v[np.argsort(-v[:, 4].astype(np.float32), kind='stable')]
    return out


@pytest.fixture
def tiny_case(tmp_path):
    rng = np.random.default_rng(7)
    images, preds = random_case(rng, n_events=3, max_faces=8, max_preds=16)
    gt_dir = write_widerface_gt(str(tmp_path / 'gt'), images)
    return gt_dir, images, preds


def _run(metric, samples, batch=3):
    evaluator = Evaluator([metric])
    for i in range(0, len(samples), batch):
        evaluator.process(samples[i:i + batch])
    return evaluator.evaluate(len(samples))


def test_registered():
    assert METRICS.get('WIDERFaceMetric') is WIDERFaceMetric


def test_metric_with_gt_dir(tmp_path, tiny_case):
    gt_dir, images, preds = tiny_case
    rng = np.random.default_rng(0)
    samples = [_sample(k, _shuffled(rng, _xyxy(v))) for k, v in preds.items()]
    out_dir = str(tmp_path / 'out')
    metric = METRICS.build(
        dict(type='WIDERFaceMetric', gt_dir=gt_dir, outfile_prefix=out_dir))
    res = _run(metric, samples)
    assert set(res) == {f'widerface/{s}' for s in SETTINGS + ('allfaces', )}

    # the same numbers as the predictions sorted by score (stable)
    gt = load_widerface_gt(gt_dir)
    ref = evaluate_widerface(_score_sorted(preds), gt, allfaces=True)
    for s in SETTINGS + ('allfaces', ):
        assert res[f'widerface/{s}'] == pytest.approx(ref[s], nan_ok=True)

    # the written folder: official layout, score-descending, and the port
    # and the CLI's reader give the metric's numbers
    with open(osp.join(out_dir, images[0][0], images[0][1] + '.txt')) as f:
        lines = f.read().splitlines()
    assert lines[0] == images[0][1] and int(lines[1]) == len(lines) - 2
    written = read_widerface_preds(out_dir, gt)
    for i in range(len(written['names'])):
        s = written['dets'][written['offsets'][i]:written['offsets'][i + 1], 4]
        assert (np.diff(s) <= 0).all()
    again = evaluate_widerface(written, gt)
    with np.errstate(all='ignore'):
        aps = port.evaluation(out_dir, gt_dir)
    for ap, s in zip(aps, SETTINGS):
        assert again[s] == pytest.approx(res[f'widerface/{s}'], nan_ok=True)
        assert ap == pytest.approx(res[f'widerface/{s}'], nan_ok=True)


def test_metric_missing_images(tiny_case):
    gt_dir, images, preds = tiny_case
    keys = list(preds)
    samples = [_sample(k, _xyxy(preds[k])) for k in keys[1:]]
    with pytest.raises(ValueError, match=f'1 of {len(keys)}.*{keys[0]}'):
        _run(WIDERFaceMetric(gt_dir=gt_dir), samples)
    res = _run(WIDERFaceMetric(gt_dir=gt_dir, allow_missing=True), samples)
    gt = load_widerface_gt(gt_dir)
    ref = evaluate_widerface(
        _score_sorted({k: preds[k]
                       for k in keys[1:]}),
        gt,
        allow_missing=True,
        allfaces=True)
    for s in SETTINGS + ('allfaces', ):
        assert res[f'widerface/{s}'] == pytest.approx(ref[s], nan_ok=True)


def test_metric_gathers_small_results(tiny_case):
    """As under distributed testing: ranks keep float32 arrays, rank 0
    computes from the concatenation."""
    gt_dir, _, preds = tiny_case
    samples = [_sample(k, _xyxy(v)) for k, v in preds.items()]
    ranks = [WIDERFaceMetric(gt_dir=gt_dir) for _ in range(2)]
    for i, s in enumerate(samples):
        ranks[i % 2].process({}, [s.to_dict()])
    for r in ranks:
        assert all(x['dets'].dtype == np.float32 for x in r.results)
    merged = ranks[0].compute_metrics(ranks[0].results + ranks[1].results)
    single = _run(WIDERFaceMetric(gt_dir=gt_dir, prefix='wf'), samples)
    for k, v in merged.items():
        assert single[f'wf/{k}'] == pytest.approx(v, nan_ok=True)


def test_metric_without_gt_dir():
    rng = np.random.default_rng(1)
    samples, preds, gts, ignores = [], [], [], []
    for i in range(6):
        n = int(rng.integers(1, 6))
        xy = rng.uniform(0, 300, (n, 2)).round()
        size = rng.choice([12., 48., 150.], n)
        gt = np.c_[xy, xy + size[:, None]]
        ignored = gt[:1] + 400  # one don't-care face far from the others
        det = np.c_[gt + rng.integers(-2, 3, gt.shape), rng.random(n)]
        fp = np.c_[rng.uniform(600, 800, (3, 2)),
                   rng.uniform(820, 900, (3, 2)),
                   rng.random(3)]
        on_ignored = np.c_[ignored, [0.99]]
        dets = np.concatenate([det, fp, on_ignored]).round(3)
        samples.append(_sample(f'{i}--E/img_{i}', dets, gt, ignored))
        order = np.argsort(-dets[:, 4].astype(np.float32), kind='stable')
        preds.append(dets[order])
        gts.append(np.concatenate([gt, ignored]))
        ignores.append(np.r_[np.zeros(len(gt), bool), True])
    res = _run(WIDERFaceMetric(), samples)
    assert set(res) == {
        'widerface/AP', 'widerface/AP_small', 'widerface/AP_medium',
        'widerface/AP_large'
    }
    ref = eval_face_ap(preds, gts, ignores)
    assert res['widerface/AP'] == pytest.approx(ref['all'])
    for b in ('small', 'medium', 'large'):
        assert res[f'widerface/AP_{b}'] == pytest.approx(ref[b], nan_ok=True)
    assert 0 < res['widerface/AP'] <= 1

    # perfect predictions
    perfect = []
    for i, (g, ig) in enumerate(zip(gts, ignores)):
        scores = np.linspace(0.9, 0.5, (~ig).sum())
        perfect.append(_sample(f'0--E/p_{i}', np.c_[g[~ig], scores], g[~ig]))
    res = _run(WIDERFaceMetric(size_buckets=None), perfect)
    assert res == {'widerface/AP': 1.0}

    with pytest.raises(KeyError, match='gt_instances'):
        _run(WIDERFaceMetric(), [_sample('0--E/x_1', [[0, 0, 5, 5, 1]])])


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match='gt_dir'):
        WIDERFaceMetric(gt_dir=str(tmp_path / 'nope'))
    with pytest.raises(ValueError, match='size_mode'):
        WIDERFaceMetric(size_mode='width')


def test_metric_int_box_format_is_the_reference_writer(tmp_path, tiny_case):
    """box_format='int' writes and scores the boxes as biubug6's
    test_widerface.py writes them: x = int(x1), w = int(x2) - int(x1)."""
    gt_dir, images, preds = tiny_case
    rng = np.random.default_rng(1)
    samples, ref_rows = [], {}
    for k, v in preds.items():
        xyxy = _xyxy(v)
        xyxy[:, :4] += rng.uniform(-0.9, 0.9, (len(xyxy), 4))  # fractions
        samples.append(_sample(k, xyxy))
        rows = []
        for x1, y1, x2, y2, score in xyxy.astype(np.float32).tolist():
            rows.append([
                int(x1),
                int(y1),
                int(x2) - int(x1),
                int(y2) - int(y1), score
            ])
        ref_rows[k] = np.asarray(rows, np.float64).reshape(-1, 5)
    out_dir = str(tmp_path / 'int')
    res = _run(
        METRICS.build(
            dict(
                type='WIDERFaceMetric',
                gt_dir=gt_dir,
                outfile_prefix=out_dir,
                box_format='int')), samples)
    gt = load_widerface_gt(gt_dir)
    ref = evaluate_widerface(_score_sorted(ref_rows), gt)
    for s in SETTINGS:
        assert res[f'widerface/{s}'] == pytest.approx(ref[s], nan_ok=True)
    name = f'{images[0][0]}/{images[0][1]}'
    with open(osp.join(out_dir, name + '.txt')) as f:
        rows = [line.split() for line in f.read().splitlines()[2:]]
    written = np.asarray([r[:4] for r in rows], np.float64)
    assert all('.' not in c for r in rows for c in r[:4])
    expect = _score_sorted(ref_rows)[name][:, :4]
    assert np.array_equal(written, expect)
    with pytest.raises(ValueError, match='box_format'):
        WIDERFaceMetric(box_format='round')


@pytest.fixture
def warnings_log():
    """WARNING records of the current MMLogger."""
    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_non_finite_predictions_name_the_image(tiny_case):
    gt_dir, _, preds = tiny_case
    keys = list(preds)
    bad = _xyxy([[0, 0, 5, 5, 0.5], [1, 1, 5, 5, 0.4]])
    bad[1, 4] = np.nan
    metric = WIDERFaceMetric(gt_dir=gt_dir)
    metric.process({}, [_sample(keys[0], _xyxy(preds[keys[0]])).to_dict()])
    with pytest.raises(
            ValueError,
            match=rf'1 of 2 predictions .*score nan.* of '
            rf'/data/val/images/{keys[1]}\.jpg'):
        metric.process({}, [_sample(keys[1], bad).to_dict()])
    bad[1, 4], bad[0, 2] = 0.4, np.inf
    with pytest.raises(ValueError, match=rf'{keys[1]}\.jpg'):
        _run(WIDERFaceMetric(gt_dir=gt_dir), [_sample(keys[1], bad)])
    # custom data: ground truth too
    with pytest.raises(ValueError, match=r'ground-truth box of .*x_1\.jpg'):
        _run(WIDERFaceMetric(),
             [_sample('0--E/x_1', [[0, 0, 5, 5, 1]], [[0, 0, np.nan, 5]])])


def test_gt_dir_without_mat_files(tmp_path, tiny_case):
    # fails when built, not after the whole test run
    (tmp_path / 'empty').mkdir()
    with pytest.raises(
            FileNotFoundError,
            match=r'lacks wider_face_val\.mat, '
            r'wider_easy_val\.mat, wider_medium_val\.mat, '
            r'wider_hard_val\.mat'):
        WIDERFaceMetric(gt_dir=str(tmp_path / 'empty'))
    gt_dir = tiny_case[0]
    os.remove(osp.join(gt_dir, 'wider_hard_val.mat'))
    with pytest.raises(
            FileNotFoundError, match=r'lacks wider_hard_val\.mat \('):
        METRICS.build(dict(type='WIDERFaceMetric', gt_dir=gt_dir))


def test_equal_scores_warn(tiny_case, warnings_log):
    # all scores 1.0: AP 0 as in the reference (degenerate min-max
    # normalisation), now with a warning in the log
    gt_dir, _, preds = tiny_case
    samples = [
        _sample(k, np.c_[_xyxy(v)[:, :4], np.ones(len(v))])
        for k, v in preds.items()
    ]
    res = _run(WIDERFaceMetric(gt_dir=gt_dir), samples)
    assert all(v == 0 or np.isnan(v) for v in res.values())
    msg = [m for m in warnings_log if 'prediction scores are 1' in m]
    assert len(msg) == 1 and 'every AP is 0' in msg[0]
    # custom data sets too
    warnings_log.clear()
    _run(WIDERFaceMetric(),
         [_sample('0--E/x_1', [[0, 0, 5, 5, 1]], [[0, 0, 5, 5]])])
    assert any('all 1 prediction scores are 1' in m for m in warnings_log)
