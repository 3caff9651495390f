"""A checkpoint that runs code when unpickled, given to every entry point
that takes a checkpoint, runs nothing: each refuses it with one line naming
the file (issue #11, item 1)."""
import importlib.util
import os.path as osp

import pytest

from mmcv_patches import UnsafeCheckpointError
from tests.test_apis.face_api_utils import MNET_CFG
from tests.test_mmcv_patches.checkpoint_cases import (save_code_checkpoint,
                                                      tree_digest)
from tests.testing import REPO_ROOT, run_tool, tiny_run_options

DEMO_CFG = 'configs/retinaface_mnet025_demo.py'


def _load_script(rel: str):
    spec = importlib.util.spec_from_file_location(
        'safety_' + osp.basename(rel)[:-3], osp.join(REPO_ROOT, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def evil(tmp_path_factory):
    """``(checkpoint, marker)``: an mmdet-looking checkpoint whose meta runs
    ``touch marker`` when loaded with ``weights_only=False``."""
    folder = tmp_path_factory.mktemp('evil')
    marker = folder / 'code_ran'
    path = folder / 'evil.pth'
    return save_code_checkpoint(path, marker), marker


@pytest.fixture
def check(evil):
    """Asserts, after the test, that no code ran and that the checkpoint is
    byte-identical; returns the function checking a refusal message."""
    path, marker = evil
    digest = tree_digest(osp.dirname(path))

    def refused(text: str) -> None:
        lines = [ln for ln in text.strip().splitlines() if path in ln]
        assert lines and 'refused checkpoint' in lines[-1], text[-3000:]
        assert 'posix.system' in lines[-1], lines[-1]
        assert 'weights_only' not in text and 'Traceback' not in text

    yield refused
    assert not marker.exists(), 'the checkpoint ran code'
    assert tree_digest(osp.dirname(path)) == digest


def test_face_detector_api(evil, check):
    from mmdet_faces.apis import FaceDetector
    with pytest.raises(UnsafeCheckpointError) as info:
        FaceDetector(MNET_CFG, evil[0])
    check(str(info.value))
    assert '\n' not in str(info.value)


def test_infer_and_export_cli(evil, check, tmp_path, capsys):
    import cv2
    import numpy as np
    img = tmp_path / 'x.jpg'
    cv2.imwrite(str(img), np.zeros((32, 32, 3), np.uint8))
    infer = _load_script('tools/infer.py')
    rc = infer.main([
        str(img), '--config', MNET_CFG, '--checkpoint', evil[0],
        '--out-dir', str(tmp_path / 'out')
    ])
    assert rc == 2
    check(capsys.readouterr().err)
    export = _load_script('tools/deployment/export_onnx.py')
    onnx_file = tmp_path / 'x.onnx'
    assert export.main([MNET_CFG, evil[0], str(onnx_file)]) == 2
    check(capsys.readouterr().err)
    assert not onnx_file.exists()


@pytest.mark.parametrize('name', ['retinaface_to_mmdet', 's3fd_to_mmdet'])
def test_converters(evil, check, tmp_path, capsys, name):
    conv = _load_script(f'tools/model_converters/{name}.py')
    dst = tmp_path / 'out.pth'
    assert conv.main([evil[0], str(dst)]) == 1
    check(capsys.readouterr().err)
    assert not dst.exists()


def test_train_and_test_tools(evil, check, tiny_widerface, tmp_path):
    """tools/test.py CKPT, tools/train.py with load_from and --resume."""
    root = tiny_widerface.rstrip('/') + '/'
    opts = tiny_run_options({'train_dataloader.dataset.data_root': root},
                            None)
    res = run_tool(
        'test', DEMO_CFG, str(tmp_path / 'test'), checkpoint=evil[0],
        cfg_options=tiny_run_options(
            {}, {
                'dataloader.dataset.data_root': root,
                'evaluator.gt_dir': root + 'ground_truth/'
            }))
    assert res.returncode == 1
    check(res.output)
    res = run_tool('train', DEMO_CFG, str(tmp_path / 'load_from'),
                   cfg_options=dict(opts, load_from=evil[0]))
    assert res.returncode == 1
    check(res.output)
    res = run_tool('train', DEMO_CFG, str(tmp_path / 'resume'),
                   args=['--resume', evil[0]], cfg_options=opts)
    assert res.returncode == 1
    check(res.output)
