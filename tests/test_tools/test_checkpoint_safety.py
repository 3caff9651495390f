"""A checkpoint that runs code when unpickled, given to every entry point
that takes a checkpoint, runs nothing: each refuses it with one line naming
the file (issue #11, item 1)."""
import os.path as osp

import pytest

from mmcv_patches import UnsafeCheckpointError
from tests.test_apis.face_api_utils import MNET_CFG, demo_argv
from tests.test_mmcv_patches.checkpoint_cases import (CONVERTERS,
                                                      save_code_checkpoint,
                                                      tree_digest)
from tests.testing import (REPO_ROOT, flatten_cfg_options, load_script,
                           run_tool, run_tool_in_process, tiny_run_options)

DEMO_CFG = ('configs/retinaface/'
            'retinaface_mnet025_1xb16-12e_widerface-synthetic.py')


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
    infer = load_script('tools/infer.py')
    rc = infer.main([
        str(img), '--config', MNET_CFG, '--checkpoint', evil[0], '--out-dir',
        str(tmp_path / 'out')
    ])
    assert rc == 2
    check(capsys.readouterr().err)
    export = load_script('tools/deployment/export_onnx.py')
    onnx_file = tmp_path / 'x.onnx'
    assert export.main([MNET_CFG, evil[0], str(onnx_file)]) == 2
    check(capsys.readouterr().err)
    assert not onnx_file.exists()


@pytest.mark.parametrize('name', ['image_demo', 'video_demo', 'webcam_demo'])
def test_demos(evil, check, tmp_path, capsys, name):
    """demo/*.py (mmdet's DetInferencer / init_detector inside): exit code
    2 and the refusal line, nothing written."""
    demo = load_script(f'demo/{name}.py')
    assert demo.run_cli(demo.main, f'{name}.py',
                        demo_argv(name, evil[0], tmp_path)) == 2
    check(capsys.readouterr().err)
    assert not (tmp_path / 'out').exists()
    assert not (tmp_path / 'out.mp4').exists()


@pytest.mark.parametrize('name', CONVERTERS)
def test_converters(evil, check, tmp_path, capsys, name):
    conv = load_script(f'tools/model_converters/{name}.py')
    dst = tmp_path / 'out.pth'
    assert conv.main([evil[0], str(dst)]) == 1
    check(capsys.readouterr().err)
    assert not dst.exists()


def test_train_and_test_tools(evil, check, tiny_widerface, tmp_path, capsys):
    """tools/test.py CKPT (a fresh process, as a user runs it), tools/train.py
    with load_from and with --resume (in this process: the same wrapper and
    stock script, faster)."""
    root = tiny_widerface.rstrip('/') + '/'
    res = run_tool(
        'test',
        DEMO_CFG,
        str(tmp_path / 'test'),
        checkpoint=evil[0],
        cfg_options=tiny_run_options({}, {
            'dataloader.dataset.data_root': root,
            'evaluator.gt_dir': root + 'ground_truth/'
        }))
    assert res.returncode == 1
    check(res.output)
    opts = flatten_cfg_options(
        tiny_run_options({'train_dataloader.dataset.data_root': root}, None))
    for name, args, more_opts in (('load_from', [], ['load_from=' + evil[0]]),
                                  ('resume', ['--resume', evil[0]], [])):
        work = str(tmp_path / name)
        with pytest.raises(SystemExit) as info:
            run_tool_in_process(
                'train', [osp.join(REPO_ROOT, DEMO_CFG), '--work-dir', work] +
                args + ['--cfg-options'] + opts + more_opts)
        assert info.value.code == 1
        check(capsys.readouterr().err)
