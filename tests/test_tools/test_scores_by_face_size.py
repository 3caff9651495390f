"""tools/analysis_tools/scores_by_face_size.py: the AP it prints is the
WIDER protocol's on the model's own detections, every face of the setting
is binned once, the per-level scores are read from the right cells, and
missing inputs are one-line errors."""
import os.path as osp

import numpy as np
import pytest
import torch

from tests.test_apis.face_api_utils import (MNET_CFG, REPO_ROOT,
                                            make_checkpoint, save_checkpoint)
from tools.analysis_tools import scores_by_face_size as tool

SCRFD_CFG = osp.join(REPO_ROOT, 'configs', 'scrfd',
                     'scrfd_500m_4xb8-640e_widerface.py')


def test_iou_xywh():
    a = np.array([[0., 0., 10., 10.], [20., 20., 4., 4.]])
    b = np.array([[5., 0., 10., 10.], [0., 0., 10., 10.]])
    np.testing.assert_allclose(
        tool.iou_xywh(a, b), [[50 / 150, 1.], [0., 0.]], atol=1e-12)


def test_level_scores_reads_cells_near_the_centre():
    maps = [torch.zeros(2, 8, 8), torch.zeros(2, 4, 4)]
    maps[0][1, 2, 3] = 0.9  # stride 8: cell (x 3, y 2), centre ~ (28, 20)
    maps[0][0, 7, 7] = 0.8  # far from the face
    maps[1][0, 1, 1] = 0.4  # stride 16: cell (1, 1)
    face = np.array([[20., 12., 16., 16.]])  # centre (28, 20)
    np.testing.assert_allclose(
        tool.level_scores(maps, face, [8, 16]), [[0.9, 0.4]], atol=1e-7)


def test_size_table_bins_every_face_once():
    faces = np.array([[10, .9, .8, 1], [70, .7, .5, 1], [300, .4, .1, 0],
                      [80, .8, .6, 1]])
    rows = tool.size_table(faces, [64, 128]).splitlines()[2:]
    assert [r.split('|')[1].strip()
            for r in rows] == ['0-64', '64-128', '>= 128']
    assert [int(r.split('|')[2]) for r in rows] == [1, 2, 1]
    assert rows[1].split('|')[3].strip() == '1.00'  # both found
    assert rows[2].split('|')[3].strip() == '0.00'


def _scrfd_ckpt(path):
    """A random SCRFD-500M whose scores vary around 0.5 (cls bias 0)."""
    from mmdet_faces.apis import FaceDetector
    torch.manual_seed(0)
    model = FaceDetector(SCRFD_CFG).model
    with torch.no_grad():
        for conv in model.bbox_head.conv_cls:
            conv.bias.zero_()
    return save_checkpoint(model, str(path))


@pytest.mark.parametrize('arch', ['scrfd', 'retinaface'])
def test_ap_and_faces_match_the_protocol(arch, tiny_widerface, tmp_path,
                                         capsys):
    from mmdet_faces.apis import FaceDetector
    from mmdet_faces.evaluation import functional as wfe
    if arch == 'scrfd':
        cfg, ckpt = SCRFD_CFG, _scrfd_ckpt(tmp_path / 'scrfd.pth')
    else:
        cfg = MNET_CFG
        ckpt = make_checkpoint(MNET_CFG, str(tmp_path / 'mnet.pth'))
    gt_dir = osp.join(tiny_widerface, 'ground_truth')
    img_dir = osp.join(tiny_widerface, 'val', 'images')
    gt = wfe.load_widerface_gt(gt_dir)

    det = FaceDetector(cfg, ckpt)
    res = tool.analyse(det, gt, img_dir, 'medium')
    assert sum(len(p) for p in res['preds'].values()) > 0
    # the detections are FaceDetector's, score-descending, x y w h
    name = max(res['preds'], key=lambda n: len(res['preds'][n]))
    ref = det(osp.join(img_dir, name + '.jpg'))
    p = res['preds'][name]
    np.testing.assert_allclose(p[:, 4], np.sort(ref.scores)[::-1])
    np.testing.assert_allclose(
        p[:, 2:4].sum(), (ref.bboxes[:, 2:] - ref.bboxes[:, :2]).sum(),
        rtol=1e-5)
    # one row per medium face; the found flag is IoU >= 0.5 of the best
    assert len(res['faces']) == int(gt['settings']['medium'].sum())
    np.testing.assert_array_equal(res['faces'][:, 3], res['faces'][:, 1]
                                  >= 0.5)
    if arch == 'scrfd':
        assert res['strides'] == [8, 16, 32]
        assert res['faces'].shape[1] == 7
        assert ((res['faces'][:, 4:] > 0) & (res['faces'][:, 4:] < 1)).all()
    else:  # softmax head: no per-level columns
        assert res['strides'] is None and res['faces'].shape[1] == 4
    # every false positive has IoU < 0.5 with every face of its image
    for score, _, img in res['fps'][:20]:
        i = gt['names'].index(img)
        g = gt['boxes'][gt['offsets'][i]:gt['offsets'][i + 1]]
        q = res['preds'][img]
        q = q[q[:, 4] == score]
        assert len(q) and (not len(g)
                           or tool.iou_xywh(q[:, :4], g).max(1).min() < 0.5)

    # the command line prints the protocol's AP of these detections
    assert tool.main([
        cfg, ckpt, '--gt-dir', gt_dir, '--img-dir', img_dir, '--setting',
        'medium'
    ]) == 0
    out = capsys.readouterr().out
    ap = wfe.evaluate_widerface(res['preds'], gt)
    assert out.splitlines()[0] == 'AP: ' + ', '.join(
        f'{k} {ap[k]:.4f}' for k in ('easy', 'medium', 'hard'))
    assert '| face height (input px) |' in out
    assert ('stride 32' in out) == (arch == 'scrfd')


def test_missing_inputs_are_one_line_errors(tiny_widerface, tmp_path, capsys):
    ckpt = _scrfd_ckpt(tmp_path / 'scrfd.pth')
    gt_dir = osp.join(tiny_widerface, 'ground_truth')
    missing = str(tmp_path / 'nowhere')
    assert tool.main([SCRFD_CFG, ckpt, '--gt-dir', missing]) == 2
    err = capsys.readouterr().err
    assert missing in err and len(err.strip().splitlines()) == 1
    assert tool.main(
        [SCRFD_CFG, ckpt, '--gt-dir', gt_dir, '--img-dir', missing]) == 2
    assert missing in capsys.readouterr().err
    # an image of the ground truth that is not in the folder
    empty = tmp_path / 'images'
    empty.mkdir()
    assert tool.main(
        [SCRFD_CFG, ckpt, '--gt-dir', gt_dir, '--img-dir',
         str(empty)]) == 2
    err = capsys.readouterr().err
    assert str(empty) in err and 'not found' in err
