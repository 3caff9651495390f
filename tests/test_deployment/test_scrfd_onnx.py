"""SCRFD export in insightface's layout (no insightface needed)."""
import os.path as osp

import numpy as np
import torch

from tests.test_models.scrfd_utils import (REPO_ROOT, load_converter,
                                           reference_and_converted)
from tests.testing import load_script

TOOL = load_script('tools/deployment/export_onnx.py')
ARCHS = load_converter().ARCHS


def test_static_export_layout_and_verify(tmp_path, capsys):
    import onnxruntime as ort
    _, model = reference_and_converted('500m_kps', seed=2)
    ckpt = tmp_path / 'm.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    out = str(tmp_path / 'scrfd.onnx')
    config = osp.join(REPO_ROOT, ARCHS['500m_kps'])
    assert TOOL.main([
        config,
        str(ckpt), out, '--static', '--shape', '160', '224', '--verify'
    ]) == 0
    assert 'verification passed' in capsys.readouterr().out
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    (inp, ) = sess.get_inputs()
    assert inp.name == 'input.1' and inp.shape == [1, 3, 160, 224]
    names = [o.name for o in sess.get_outputs()]
    assert names == [
        f'{k}_{s}' for k in ('score', 'bbox', 'kps') for s in (8, 16, 32)
    ]
    zeros = np.zeros((1, 3, 160, 224), np.float32)
    outs = sess.run(None, {'input.1': zeros})
    # 2 anchors per location: 20x28, 10x14, 5x7 locations
    shapes = [o.shape for o in outs[::3]]
    assert shapes == [(1, 1120, 1), (1, 1120, 4), (1, 1120, 10)]
    assert outs[2].shape == (1, 70, 1) and (outs[0] > 0).all() and \
        (outs[0] < 1).all()


def test_layout_must_fit_the_model(tmp_path, capsys):
    scrfd = osp.join(REPO_ROOT, ARCHS['500m'])
    assert TOOL.main(
        [scrfd, 'none',
         str(tmp_path / 'a.onnx'), '--layout', 'decoded']) == 2
    assert 'layout is for RetinaFace / S3FD' in capsys.readouterr().err
    retina = osp.join(REPO_ROOT, 'configs', 'retinaface',
                      'retinaface_mnet025_1xb32-250e_widerface.py')
    assert TOOL.main(
        [retina, 'none',
         str(tmp_path / 'b.onnx'), '--layout', 'insightface']) == 2
    assert 'layout is for SCRFD' in capsys.readouterr().err
    assert not (tmp_path / 'a.onnx').exists()
