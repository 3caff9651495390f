"""insightface's own SCRFD runtime on our ONNX export finds the faces our
PyTorch model finds (the runtime comes from the package index; skipped when
it cannot be fetched)."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmdet_faces.apis import FaceDetector
from tests.test_models.scrfd_utils import (REPO_ROOT, load_converter,
                                           reference_and_converted)
from tests.testing import load_script
from tests.testing.package_index import fetch_package_files, import_unchanged


@pytest.fixture(scope='module')
def insightface(tmp_path_factory):
    root = fetch_package_files(
        'insightface', ['insightface/model_zoo/', 'insightface/data/images/'],
        str(tmp_path_factory.mktemp('insightface')))
    if root is None:
        pytest.skip('insightface could not be fetched from the package index')
    runtime = import_unchanged(root, 'insightface.model_zoo', 'scrfd',
                               '_insightface_from_index')
    photo = cv2.imread(osp.join(root, 'insightface/data/images/t1.jpg'))
    assert photo is not None
    return runtime, photo


def _checkpoint(arch, path):
    """Seeded random weights (via the reference layout and the converter)
    with face-sized boxes: distances of about 2 strides."""
    _, model = reference_and_converted(arch, seed=4, head_gain=0.2)
    with torch.no_grad():
        for conv in model.bbox_head.conv_reg:
            conv.bias += 2.0
    torch.save({'state_dict': model.state_dict()}, path)
    return model


def _threshold(model, img):
    """A score threshold with ~200 anchors above it and no score within
    1e-4 of it (so that float differences cannot move an anchor across)."""
    from mmdet_faces.deployment import SCRFDInsightFaceWrapper
    blob = torch.from_numpy(
        cv2.dnn.blobFromImage(
            img, 1 / 128., (640, 640), (127.5, ) * 3, swapRB=True))
    with torch.no_grad():
        outs = SCRFDInsightFaceWrapper(model.eval())(blob)
    s = torch.cat([o.reshape(-1)
                   for o in outs[:3]]).sort(descending=True).values
    k = next(k for k in range(200, 2000) if s[k - 1] - s[k] > 2e-4)
    return float(s[k - 1] + s[k]) / 2


@pytest.mark.parametrize('arch', ['500m', '2.5g_kps'])
def test_insightface_runtime_loads_our_export_and_finds_our_faces(
        arch, insightface, tmp_path, capsys):
    runtime, photo = insightface
    # VGA: the runtime pads it to 640 x 640 without resizing (scale 1)
    img = cv2.resize(photo, (640, 480), interpolation=cv2.INTER_AREA)
    ckpt = str(tmp_path / 'scrfd.pth')
    model = _checkpoint(arch, ckpt)
    config = osp.join(REPO_ROOT, load_converter().ARCHS[arch])
    onnx_file = str(tmp_path / 'scrfd.onnx')
    tool = load_script('tools/deployment/export_onnx.py')
    assert tool.main(
        [config, ckpt, onnx_file, '--verify', '--verify-batches', '1']) == 0
    assert 'insightface layout' in capsys.readouterr().out
    thr = _threshold(model, img)

    # insightface's runtime, unchanged: det_thresh, NMS 0.4 with +1 areas
    det = runtime.SCRFD(model_file=onnx_file)
    det.prepare(-1, det_thresh=thr, nms_thresh=0.4)
    assert det.use_kps == ('kps' in arch) and det.batched
    boxes, kpss = det.detect(img, input_size=(640, 640))

    # ours, the config's test pipeline, with the runtime's post-processing
    ours = FaceDetector(
        config,
        ckpt,
        score_thr=thr,
        cfg_options={
            'model.test_cfg.nms':
            dict(type='nms', iou_threshold=0.4, offset=1),
            'model.bbox_head.bbox_coder.clip_border': False
        })(
            img)
    assert len(ours) == len(boxes) > 20
    # the same faces: each of ours has its own runtime twin (scores equal
    # to 1e-6 may come in either order)
    dist = np.abs(ours.bboxes[:, None] - boxes[None, :, :4]).max(-1)
    twin = dist.argmin(1)
    assert sorted(twin) == list(range(len(boxes)))
    assert dist[np.arange(len(twin)), twin].max() < 0.05
    assert np.abs(ours.scores - boxes[twin, 4]).max() < 1e-4
    if 'kps' in arch:
        assert np.abs(ours.keypoints - kpss[twin]).max() < 0.05
    else:
        assert kpss is None and ours.keypoints is None
