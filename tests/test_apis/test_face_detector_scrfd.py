"""FaceDetector, tools/infer.py and the visualiser with SCRFD, as with
RetinaFace."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose

from mmdet_faces.apis import FaceDetector
from tests.reference import scrfd_ref as ref
from tests.test_apis.face_api_utils import random_images
from tests.test_models.scrfd_utils import REPO_ROOT, load_converter
from tests.testing import load_script

ARCHS = load_converter().ARCHS


@pytest.mark.parametrize('arch', ['500m', '500m_kps'])
def test_api_equals_test_pipeline_and_test_step(arch, scrfd_ckpts):
    config = osp.join(REPO_ROOT, ARCHS[arch])
    det = FaceDetector(config, scrfd_ckpts[arch], score_thr=0.3)
    img = random_images([(300, 400)], seed=3)[0]
    faces = det(img)
    assert 0 < len(faces) < 200 and faces.img_shape == (300, 400)
    # the config's VGA protocol by hand: resize into 640 x 640, pad, test
    pipe = Compose([dict(type='mmdet.LoadImageFromNDArray')] +
                   det.cfg.test_dataloader.dataset.pipeline[1:3] + [
                       dict(
                           type='PackFaceInputs',
                           meta_keys=('img_shape', 'ori_shape',
                                      'scale_factor'))
                   ])
    data = pipe(dict(img=img))
    assert tuple(data['inputs'].shape) == (3, 640, 640)
    with torch.no_grad():
        res = det.model.test_step(
            dict(inputs=[data['inputs']],
                 data_samples=[data['data_samples']]))[0].pred_instances
    assert np.allclose(faces.bboxes, res.bboxes.numpy(), atol=1e-4)
    assert np.allclose(faces.scores, res.scores.numpy(), atol=1e-6)
    # boxes in original pixels (the scale factor was 1.6)
    assert faces.bboxes[:, 2].max() < 400 * 1.2
    if 'kps' in arch:
        assert faces.keypoints.shape == (len(faces), 5, 2)
        assert np.allclose(faces.keypoints, res.keypoints.numpy(), atol=1e-4)
        drawn = det.draw(img, faces, score_thr=0.3)
        assert drawn.shape == img.shape and (drawn != img).any()
    else:
        assert faces.keypoints is None and 'keypoints' not in res


def test_insightface_checkpoint_refused_naming_the_converter(tmp_path):
    sd = ref.SCRFDRef(ref.SCRFD_500M).state_dict()
    path = tmp_path / 'SCRFD_500M.pth'
    torch.save({'state_dict': sd, 'meta': {'epoch': 640}}, path)
    with pytest.raises(ValueError, match='scrfd_to_mmdet.py'):
        FaceDetector(osp.join(REPO_ROOT, ARCHS['500m']), str(path))


def test_infer_tool_writes_landmarks(scrfd_ckpts, tmp_path):
    infer = load_script('tools/infer.py')
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for i, img in enumerate(random_images([(240, 320), (200, 150)], 8)):
        cv2.imwrite(str(folder / f'{i}.png'), img)
    config = osp.join(REPO_ROOT, ARCHS['500m_kps'])
    out = tmp_path / 'out'
    assert infer.main([
        str(folder), '--config', config, '--checkpoint',
        scrfd_ckpts['500m_kps'], '--out-dir',
        str(out), '--score-thr', '0.3'
    ]) == 0
    with open(out / 'detections.json') as f:
        data = json.load(f)
    det = FaceDetector(config, scrfd_ckpts['500m_kps'], score_thr=0.3)
    assert len(data['results']) == 2
    for rec in data['results']:
        faces = det(str(folder / rec['file']))
        assert len(rec['scores']) == len(faces) > 0
        np.testing.assert_allclose(
            np.array(rec['landmarks']).reshape(-1, 5, 2),
            faces.keypoints,
            atol=0.006)
        assert (out / 'vis' / rec['file']).exists()
