"""ONNX export: dynamic batch / size, decoded outputs equal to PyTorch
(onnxruntime, max abs diff <= 1e-4), anchors and decoding as the heads',
NMS in the graph."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch

from tests.test_apis.face_api_utils import (MNET_CFG, REPO_ROOT, S3FD_CFG,
                                            face_like_)

ort = pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')

SHAPES = [(b, h, w) for h, w in ((64, 64), (100, 75), (160, 128))
          for b in (1, 4)]


def _model(config, seed=0):
    from mmdet_faces.apis import FaceDetector
    torch.manual_seed(seed)
    return face_like_(FaceDetector(config).model, seed)


@pytest.fixture(scope='module')
def mnet():
    return _model(MNET_CFG)


def test_grid_anchors_equal_mmdet(mnet):
    from mmdet_faces.deployment import grid_anchors
    gen = mnet.bbox_head.prior_generator
    sizes = [(13, 7), (7, 4), (4, 2)]
    ref = gen.grid_priors(sizes, device='cpu')
    for i, (h, w) in enumerate(sizes):
        ours = grid_anchors(
            torch.zeros(1, 1, h, w), gen.base_anchors[i], gen.strides[i])
        assert torch.equal(ours, ref[i])


def test_retinaface_parity(mnet, tmp_path):
    from mmdet_faces.deployment import check_onnx_parity, export_onnx
    out = str(tmp_path / 'mnet.onnx')
    wrapper = export_onnx(mnet, out, example_shape=(2, 96, 128))
    import onnx
    onnx.checker.check_model(out)
    # the wrapper decodes exactly as the head does (anchors, coders)
    img = torch.rand(2, 3, 70, 90) * 255
    head = mnet.bbox_head
    with torch.no_grad():
        ours = wrapper.decode(img)
        x = (img - mnet.data_preprocessor.mean) / mnet.data_preprocessor.std
        cls, bbox, kpt, anchors = head.flatten_preds(
            *head(mnet.extract_feat(x)))
        boxes = head.bbox_coder.decode(
            anchors.repeat(2, 1),
            bbox.reshape(-1, 4),
            wh_ratio_clip=head.wh_ratio_clip).reshape(2, -1, 4)
    assert torch.equal(ours['scores'], cls.softmax(-1)[..., 1])
    assert torch.equal(ours['boxes'], boxes)
    assert torch.equal(ours['landmarks'],
                       head.landmark_coder.decode(anchors, kpt))
    # onnxruntime == PyTorch on three sizes, batch 1 and 4
    report = check_onnx_parity(wrapper, out, SHAPES)
    for rep in report:
        assert rep['passed'], rep
        assert max(rep['max_abs_diff'].values()) <= 1e-4, rep
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    outs = sess.run(None, {'image': np.zeros((3, 3, 33, 47), np.float32)})
    num = 2 * (5 * 6 + 3 * 3 + 2 * 2)  # ceil-div feature maps x 2 anchors
    assert [o.shape for o in outs] == [(3, num, 4), (3, num), (3, num, 5, 2)]


def test_retinaface_nms_graph(mnet, tmp_path):
    from mmdet_faces.deployment import export_onnx
    out = str(tmp_path / 'mnet_nms.onnx')
    wrapper = export_onnx(
        mnet, out, with_nms=True, score_thr=0.5, example_shape=(1, 96, 96))
    assert wrapper.output_names == [
        'batch_inds', 'boxes', 'scores', 'landmarks'
    ]
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    img = torch.rand(3, 3, 120, 88) * 255
    with torch.no_grad():
        ref = [t.numpy() for t in wrapper(img)]  # mmcv nms, no +1
    outs = sess.run(None, {'image': img.numpy()})
    assert len(outs[0]) > 0
    assert np.array_equal(outs[0], ref[0])  # per image, in image order
    np.testing.assert_allclose(outs[2], ref[2], atol=1e-5)
    np.testing.assert_allclose(outs[1], ref[1], atol=1e-3)
    np.testing.assert_allclose(outs[3], ref[3], atol=1e-3)
    assert (outs[2] > 0.5).all()
    for b in range(3):  # scores decreasing within an image
        assert (np.diff(outs[2][outs[0] == b]) <= 0).all()


def test_s3fd_cli_verify(tmp_path, capsys):
    """S3FD through the command line tool; --verify checks onnxruntime
    against PyTorch on three tiny sizes at batch 1 and 4."""
    path = osp.join(REPO_ROOT, 'tools/deployment/export_onnx.py')
    spec = importlib.util.spec_from_file_location('export_onnx_tool', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = str(tmp_path / 's3fd.onnx')
    rc = tool.main([
        S3FD_CFG, 'none', out, '--verify', '--shape', '64', '64',
        '--verify-sizes', '64', '64', '100', '75', '128', '96'
    ])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert text.count(' OK') == 6 and 'verification passed' in text
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    assert [o.name for o in sess.get_outputs()] == ['boxes', 'scores']
    outs = sess.run(None, {'image': np.zeros((2, 3, 80, 72), np.float32)})
    assert outs[0].shape[:1] == (2, ) and outs[0].shape[2] == 4


def test_out_that_is_an_input_is_refused(mnet_ckpt, tmp_path, capsys):
    """``export_onnx.py CFG m.pth m.pth`` (or OUT = CFG, a link or a hard
    link to either, a folder) writes nothing: one line naming OUT; a
    failing export leaves an existing OUT as it was (issue #11)."""
    import os
    import shutil

    from tests.test_mmcv_patches.checkpoint_cases import tree_digest
    from tests.testing import load_script
    export = load_script('tools/deployment/export_onnx.py')
    ckpt, cfg = tmp_path / 'm.pth', tmp_path / 'cfg.py'
    shutil.copy(mnet_ckpt, ckpt)
    cfg.write_text(f"_base_ = '{osp.join(REPO_ROOT, MNET_CFG)}'\n")
    (tmp_path / 'link.pth').symlink_to(ckpt)
    os.link(cfg, tmp_path / 'hard.py')
    before = tree_digest(tmp_path)
    for out, what in ((ckpt, 'CHECKPOINT'), (cfg, 'CONFIG'),
                      (tmp_path / 'link.pth',
                       'CHECKPOINT'), (tmp_path / 'hard.py', 'CONFIG'),
                      (tmp_path / 'sub' / '..' / 'm.pth', 'CHECKPOINT')):
        assert export.main([str(cfg), str(ckpt), str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count('\n') == 0, err
        assert err.startswith(f'export_onnx.py: error: OUT {out} is the '
                              f'input {what}'), err
        assert 'destroy' in err and 'Traceback' not in err
    assert export.main([str(cfg), str(ckpt), str(tmp_path)]) == 2
    assert 'is a folder' in capsys.readouterr().err
    assert tree_digest(tmp_path) == before
    # an export that fails half-way keeps the previous OUT
    out = tmp_path / 'old.onnx'
    out.write_bytes(b'previous export')

    def failing(*args, **kwargs):
        with open(args[2], 'wb') as f:
            f.write(b'half a graph')
        raise RuntimeError('export failed')

    from mmdet_faces.deployment import onnx_export
    orig = onnx_export.trace_to_onnx
    onnx_export.trace_to_onnx = failing
    try:
        with pytest.raises(RuntimeError, match='export failed'):
            export.main([str(cfg), str(ckpt), str(out)])
    finally:
        onnx_export.trace_to_onnx = orig
    assert out.read_bytes() == b'previous export'
    assert sorted(
        p.name
        for p in tmp_path.iterdir()) == sorted(list(before) + ['old.onnx'])
