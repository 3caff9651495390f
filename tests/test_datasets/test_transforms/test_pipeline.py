"""The dataset base config's pipelines, end to end."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmdet_faces  # noqa: F401

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
BASE_CFG = osp.join(REPO, 'configs', '_base_', 'datasets', 'widerface.py')

# landmark positions relative to the box (x, y as fractions of w, h)
REL = np.array([[0.3, 0.35], [0.7, 0.35], [0.5, 0.55], [0.35, 0.75],
                [0.65, 0.75]])


def face_line(x, y, s, landmarks=True):
    if not landmarks:
        return f'{x} {y} {s} {s} ' + ' '.join(['-1.0'] * 16)
    pts = [(x + rx * s, y + ry * s) for rx, ry in REL]
    return f'{x} {y} {s} {s} ' + ' '.join(f'{px:g} {py:g} 0.0'
                                          for px, py in pts) + ' 0.5'


@pytest.fixture
def tiny_root(tmp_path):
    """Three train images (one negative), two val images, hand-made."""
    rng = np.random.RandomState(0)
    specs = {
        'train': [('0--Parade/a.jpg', 120, 160, [(10, 10, 24, True),
                                                 (60, 40, 24, False),
                                                 (100, 70, 24, True)]),
                  ('0--Parade/neg.jpg', 90, 70, []),
                  ('1--Handshaking/b.jpg', 100, 100, [(30, 30, 24, True),
                                                      (66, 60, 30, True)])],
        'val': [('0--Parade/c.jpg', 80, 120, [(20, 20, 24, True)]),
                ('1--Handshaking/d.jpg', 64, 64, [])],
    }
    for split, images in specs.items():
        lines = []
        for name, h, w, faces in images:
            path = tmp_path / split / 'images' / name
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(
                str(path),
                rng.randint(0, 255, (h, w, 3)).astype(np.uint8))
            lines.append(f'# {name}')
            lines += [face_line(*f) for f in faces]
        (tmp_path / split / 'label.txt').write_text('\n'.join(lines) + '\n')
    return str(tmp_path)


def build(cfg, loader, root):
    init_default_scope('mmdet')  # as tools/train.py does
    ds_cfg = cfg[loader].dataset.copy()
    ds_cfg.data_root = root + '/'
    return DATASETS.build(ds_cfg)


def check_packed(packed, size=(640, 640)):
    assert packed['inputs'].shape == (3, ) + size
    gt = packed['data_samples'].gt_instances
    n = len(gt)
    assert gt.keypoints.shape == (n, 5, 2)
    assert gt.keypoints_visible.shape == (n, 5)
    assert gt.labels.tolist() == [0] * n
    boxes = gt.bboxes.tensor
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    # faces that were not clipped are square: the landmarks must sit at the
    # same relative places (flips swap the points back into this order)
    whole = ((w - h).abs() < 1e-3) & (w > 0)
    has = gt.keypoints_visible[:, 0] > 0
    checked = torch.nonzero(whole & has).flatten().tolist()
    for i in checked:
        rel = (gt.keypoints[i] - boxes[i, :2]) / torch.stack([w[i], h[i]])
        assert torch.allclose(
            rel, torch.tensor(REL, dtype=torch.float32), atol=1e-4), rel
    return len(checked)


def test_train_pipeline(tiny_root):
    cfg = Config.fromfile(BASE_CFG)
    assert cfg.train_scale == (640, 640)
    ds = build(cfg, 'train_dataloader', tiny_root)
    assert len(ds) == 3
    np.random.seed(0)
    checked, flipped = 0, 0
    for _ in range(8):
        for i in range(len(ds)):
            packed = ds[i]
            checked += check_packed(packed)
            flipped += packed['data_samples'].flip
    assert checked >= 8 and 0 < flipped < 24
    meta = ds[0]['data_samples'].metainfo
    assert meta['img_path'].endswith('0--Parade/a.jpg')
    assert 'flip' in meta


def test_test_pipeline(tiny_root):
    cfg = Config.fromfile(BASE_CFG)
    ds = build(cfg, 'val_dataloader', tiny_root)
    assert ds.test_mode and len(ds) == 2
    packed = ds[0]
    sample = packed['data_samples']
    assert packed['inputs'].shape == (3, 80, 120)
    assert sample.scale_factor == (1.0, 1.0)
    assert sample.ori_shape == (80, 120)
    assert sample.gt_instances.bboxes.tensor.tolist() == [[20, 20, 44, 44]]
    assert sample.gt_instances.keypoints[0, 0].tolist() == pytest.approx(
        [27.2, 28.4])
    # the "same as MXNet" scale via the config
    cfg.val_dataloader.dataset.pipeline[1].short_side = 160
    cfg.val_dataloader.dataset.pipeline[1].max_long_side = 200
    ds = build(cfg, 'val_dataloader', tiny_root)
    sample = ds[0]['data_samples']
    assert sample.img_shape == (133, 200)  # 200/120 caps the scale
    assert sample.scale_factor == (200 / 120, 200 / 120)
    # annotations stay in original coordinates
    assert sample.gt_instances.bboxes.tensor.tolist() == [[20, 20, 44, 44]]
    assert len(ds[1]['data_samples'].gt_instances) == 0


def test_missing_images(tiny_root):
    import os
    os.remove(osp.join(tiny_root, 'val', 'images', '0--Parade', 'c.jpg'))
    os.remove(osp.join(tiny_root, 'train', 'images', '0--Parade', 'a.jpg'))
    cfg = Config.fromfile(BASE_CFG)
    with pytest.raises(FileNotFoundError, match='c.jpg'):
        build(cfg, 'val_dataloader', tiny_root)[0]
    train = build(cfg, 'train_dataloader', tiny_root)
    np.random.seed(0)
    packed = train[0]  # another image is drawn instead
    assert not packed['data_samples'].img_path.endswith('a.jpg')


def test_generated_dataset(tiny_widerface):
    """One run on the synthetic WIDER data set (other helper's generator)."""
    cfg = Config.fromfile(BASE_CFG)
    ds = build(cfg, 'train_dataloader', tiny_widerface)
    assert len(ds) == 24
    np.random.seed(0)
    for i in range(4):
        packed = ds[i]
        gt = packed['data_samples'].gt_instances
        assert packed['inputs'].shape == (3, 640, 640)
        assert gt.keypoints.shape == (len(gt), 5, 2)
    val = build(cfg, 'val_dataloader', tiny_widerface)
    assert len(val) == 12
    assert val[0]['data_samples'].img_path.startswith(
        osp.join(tiny_widerface, 'val', 'images'))
