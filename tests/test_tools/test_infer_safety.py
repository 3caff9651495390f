"""tools/infer.py and FaceDetector with careless input: no output over an
input, one-line errors, warnings instead of silent wrong results (issue
#11, items 4, 7 and 8)."""
import json

import cv2
import numpy as np
import pytest

from tests.test_apis.face_api_utils import (MNET_CFG, make_checkpoint,
                                            random_images)
from tests.test_mmcv_patches.checkpoint_cases import (bad_checkpoint_files,
                                                      tree_digest)
from tests.testing import load_script

infer = load_script('tools/infer.py', 'safety_infer')


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp('infer_safety') / 'mnet.pth'
    return make_checkpoint(MNET_CFG, str(path), seed=0)


def _one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('infer.py: error: '), err
    return err[0]


def test_outputs_never_overwrite_inputs(ckpt, tmp_path, capsys):
    """Photos in OUT/vis/ given as the input folder, and an --out-dir that
    is a file: refused before anything is written."""
    out = tmp_path / 'out'
    photos = out / 'vis'
    photos.mkdir(parents=True)
    for i, img in enumerate(random_images([(40, 48)] * 2, seed=3)):
        cv2.imwrite(str(photos / f'p{i}.jpg'), img)
    as_file = tmp_path / 'notes.txt'
    as_file.write_text('my notes')
    before = tree_digest(tmp_path)
    assert infer.main([
        str(photos), '--config', MNET_CFG, '--checkpoint', ckpt, '--out-dir',
        str(out)
    ]) == 2
    err = _one_error(capsys)
    assert 'would overwrite the input' in err and 'p0.jpg' in err
    assert infer.main([
        str(photos / 'p0.jpg'), '--config', MNET_CFG, '--checkpoint', ckpt,
        '--out-dir',
        str(as_file)
    ]) == 2
    assert 'is a file, not a folder' in _one_error(capsys)
    assert tree_digest(tmp_path) == before


def test_bad_checkpoints_and_thresholds(tmp_path, capsys):
    img = tmp_path / 'x.jpg'
    cv2.imwrite(str(img), np.zeros((32, 32, 3), np.uint8))
    cases = bad_checkpoint_files(tmp_path)  # all: tests/test_mmcv_patches
    before = tree_digest(tmp_path)
    base = [str(img), '--config', MNET_CFG, '--out-dir', str(tmp_path / 'o')]
    for name in ('empty', 'random', 'truncated', 'missing'):
        path, words = cases[name]
        if name == 'missing':
            words = 'checkpoint file not found'
        assert infer.main(base + ['--checkpoint', path]) == 2, name
        err = _one_error(capsys)
        assert path in err and words in err, err
    export = load_script('tools/deployment/export_onnx.py', 'safety_export')
    path, words = cases['truncated']
    assert export.main([MNET_CFG, path, str(tmp_path / 'o.onnx')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and path in err[0] and words in err[0]
    for flag, value in (('--score-thr', '1.5'), ('--score-thr', '-0.1'),
                        ('--draw-thr', '2'), ('--score-thr', 'nan')):
        assert infer.main(base + [flag, value]) == 2
        assert f'{flag} must be in [0, 1]' in _one_error(capsys)
    assert tree_digest(tmp_path) == before


def test_random_weights_warn(tmp_path, capsys):
    img = tmp_path / 'x.jpg'
    cv2.imwrite(str(img), random_images([(64, 64)], seed=1)[0])
    out = tmp_path / 'o'
    base = [str(img), '--config', MNET_CFG, '--out-dir', str(out), '--no-vis']
    assert infer.main(base) == 0
    err = capsys.readouterr().err
    assert 'warning: no --checkpoint' in err and 'RANDOM weights' in err
    with open(out / 'detections.json') as f:
        assert json.load(f)['random_weights'] is True
    assert infer.main(base + ['--checkpoint', 'none']) == 0
    assert 'warning' not in capsys.readouterr().err


def test_face_detector_inputs(ckpt, tmp_path):
    from mmdet_faces.apis import FaceDetector
    with pytest.warns(UserWarning, match='random weights'):
        FaceDetector(MNET_CFG)
    det = FaceDetector(MNET_CFG, ckpt)
    with pytest.raises(IsADirectoryError, match='is a directory'):
        det(str(tmp_path))
    img = random_images([(48, 64)], seed=2)[0]
    with pytest.warns(UserWarning, match=r'values in \[0, 1\]'):
        det(img.astype(np.float32) / 255)
    for thr in (-0.5, 1.01, float('nan')):
        with pytest.raises(ValueError, match=r'score_thr must be in \[0, 1'):
            FaceDetector(MNET_CFG, ckpt, score_thr=thr)
