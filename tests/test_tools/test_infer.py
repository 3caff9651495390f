"""tools/infer.py: folder and video round trips, JSON equal to the API,
clear errors."""
import importlib.util
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

from tests.test_apis.face_api_utils import (MNET_CFG, REPO_ROOT,
                                            make_checkpoint, random_images,
                                            write_video)


def _load_tool():
    path = osp.join(REPO_ROOT, 'tools/infer.py')
    spec = importlib.util.spec_from_file_location('infer_tool', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


infer = _load_tool()


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp('infer_ckpt') / 'mnet.pth'
    return make_checkpoint(MNET_CFG, str(path), seed=0)


def _assert_json_equals(rec, res):
    assert (rec['height'], rec['width']) == res.img_shape
    assert len(rec['scores']) == len(res)
    np.testing.assert_allclose(rec['boxes'], res.bboxes, atol=0.006)
    np.testing.assert_allclose(rec['scores'], res.scores, atol=1e-5)
    np.testing.assert_allclose(
        np.array(rec['landmarks']).reshape(-1, 5, 2),
        res.keypoints,
        atol=0.006)


def test_folder(ckpt, tiny_widerface, tmp_path):
    """Val images in event folders: one annotated image and one JSON
    record per image, detections equal to the API's (= tools/test.py)."""
    src = osp.join(tiny_widerface, 'val', 'images')
    folder = tmp_path / 'imgs'
    events = sorted(os.listdir(src))[:2]
    for ev in events:
        name = sorted(os.listdir(osp.join(src, ev)))[0]
        os.makedirs(folder / ev)
        shutil.copy(osp.join(src, ev, name), folder / ev / name)
    (folder / 'notes.txt').write_text('not an image')
    out = tmp_path / 'out'
    rc = infer.main([
        str(folder), '--config', MNET_CFG, '--checkpoint', ckpt, '--out-dir',
        str(out), '--batch-size', '2', '--draw-thr', '0.8'
    ])
    assert rc == 0
    with open(out / 'detections.json') as f:
        data = json.load(f)
    assert data['type'] == 'images' and data['score_thr'] == 0.02
    files = [r['file'] for r in data['results']]
    assert len(files) == 2 and all(f.count('/') == 1 for f in files)
    from mmdet_faces.apis import FaceDetector
    det = FaceDetector(MNET_CFG, ckpt)  # batch 1, as tools/test.py
    for rec in data['results']:
        img_file = str(folder / rec['file'])
        _assert_json_equals(rec, det(img_file))
        vis = cv2.imread(str(out / 'vis' / rec['file']))
        assert vis.shape == cv2.imread(img_file).shape


def test_video_round_trip(ckpt, tmp_path):
    frames = random_images([(96, 128)] * 4, seed=5)
    video = write_video(str(tmp_path / 'clip.mp4'), frames)
    out = tmp_path / 'out'
    rc = infer.main([
        video, '--config', MNET_CFG, '--checkpoint', ckpt, '--out-dir',
        str(out), '--batch-size', '3', '--score-thr', '0.5'
    ])
    assert rc == 0
    with open(out / 'detections.json') as f:
        data = json.load(f)
    assert data['type'] == 'video'
    assert data['video']['num_frames'] == 4
    assert [r['frame'] for r in data['results']] == [0, 1, 2, 3]
    cap = cv2.VideoCapture(str(out / data['video']['output']))
    decoded = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        decoded.append(frame)
    assert len(decoded) == 4 and decoded[0].shape == (96, 128, 3)
    assert abs(cap.get(cv2.CAP_PROP_FPS) - 10) < 1e-3
    # the frames as decoded from the input, batched the same way
    cap = cv2.VideoCapture(video)
    inputs = [cap.read()[1] for _ in range(4)]
    from mmdet_faces.apis import FaceDetector
    det = FaceDetector(MNET_CFG, ckpt, batch_size=3, score_thr=0.5)
    for rec, res in zip(data['results'], det(inputs)):
        _assert_json_equals(rec, res)


def test_errors(tmp_path, capsys):
    base = ['--config', MNET_CFG, '--out-dir', str(tmp_path / 'o')]
    assert infer.main([str(tmp_path / 'missing.jpg')] + base) == 2
    assert 'input not found' in capsys.readouterr().err
    txt = tmp_path / 'a.txt'
    txt.write_text('x')
    assert infer.main([str(txt)] + base) == 2
    assert 'unsupported input file' in capsys.readouterr().err
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert infer.main([str(empty)] + base) == 2
    assert 'no images' in capsys.readouterr().err
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'\0' * 64)
    assert infer.main([str(bad)] + base) == 2
    assert 'video' in capsys.readouterr().err
    img = tmp_path / 'x.png'
    cv2.imwrite(str(img), np.zeros((8, 8, 3), np.uint8))
    assert infer.main([str(img), '--config', 'nope.py']) == 2
    assert 'config file not found' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        infer.main([str(img), '--config', MNET_CFG, '--test-scale', 'x'])
    assert infer.parse_test_scale('1600,2150') == (1600, 2150)
    assert infer.parse_test_scale('0.5') == 0.5
    assert infer.parse_test_scale('original') == 'original'


def test_folder_skips_unreadable_images(ckpt, tmp_path, capsys):
    """A corrupt .jpg, an empty .jpg and a text file named .png are skipped
    with a warning each and listed in the JSON; the good image's result is
    kept."""
    folder = tmp_path / 'imgs'
    folder.mkdir()
    cv2.imwrite(
        str(folder / 'good.png'),
        random_images([(96, 128)], seed=7)[0])
    (folder / 'corrupt.jpg').write_bytes(b'\xff\xd8\xff\xe0garbage' * 10)
    (folder / 'empty.jpg').write_bytes(b'')
    (folder / 'text.png').write_text('not an image')
    out = tmp_path / 'out'
    rc = infer.main([
        str(folder), '--config', MNET_CFG, '--checkpoint', ckpt, '--out-dir',
        str(out), '--batch-size', '2'
    ])
    assert rc == 0
    err = capsys.readouterr().err
    assert err.count('warning: skipped') == 3
    with open(out / 'detections.json') as f:
        data = json.load(f)
    assert [r['file'] for r in data['results']] == ['good.png']
    skipped = data['skipped']
    assert sorted(s['path'] for s in skipped) == [
        'corrupt.jpg', 'empty.jpg', 'text.png'
    ]
    assert all(s['error'] for s in skipped)
    from mmdet_faces.apis import FaceDetector
    _assert_json_equals(data['results'][0],
                        FaceDetector(MNET_CFG, ckpt)(str(folder / 'good.png')))
    assert (out / 'vis' / 'good.png').is_file()
    # a single unreadable image is an error, not an empty result
    rc = infer.main([
        str(folder / 'corrupt.jpg'), '--config', MNET_CFG, '--out-dir',
        str(out)
    ])
    assert rc == 2
    assert 'infer.py: error: ' in capsys.readouterr().err
    # a folder of nothing but unreadable images is an error too
    (folder / 'good.png').unlink()
    rc = infer.main([
        str(folder), '--config', MNET_CFG, '--checkpoint', ckpt, '--out-dir',
        str(tmp_path / 'out2')
    ])
    assert rc == 2
    assert 'every image was skipped' in capsys.readouterr().err


def test_detector_errors_are_reported(tmp_path, capsys):
    img = tmp_path / 'x.png'
    cv2.imwrite(str(img), np.zeros((8, 8, 3), np.uint8))
    rc = infer.main([
        str(img), '--config', MNET_CFG, '--out-dir',
        str(tmp_path / 'o'), '--test-scale', '0'
    ])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith('infer.py: error: ') and 'test_scale' in err
    assert 'Traceback' not in err


def test_out_dir_inside_the_input_folder(ckpt, tmp_path):
    """A rerun does not take the annotated outputs for inputs."""
    img = random_images([(64, 80)], seed=8)[0]
    for name, sub in (('a', 'out'), ('b', '')):
        folder = tmp_path / name
        folder.mkdir()
        cv2.imwrite(str(folder / 'a.png'), img)
        out = folder / sub  # inside the input folder, or the folder itself
        for _ in range(2):
            rc = infer.main([
                str(folder), '--config', MNET_CFG, '--checkpoint', ckpt,
                '--out-dir',
                str(out)
            ])
            assert rc == 0
            with open(out / 'detections.json') as f:
                data = json.load(f)
            assert [r['file'] for r in data['results']] == ['a.png']
