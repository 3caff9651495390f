# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Tests of the synthetic COCO generator (no mmdet needed)."""
import json
import os.path as osp
import subprocess
import sys

import cv2
import pytest

from tools.dataset_converters.synthetic import coco as sc

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLI = osp.join(REPO_ROOT, 'tools', 'dataset_converters',
               'gen_synthetic_coco.py')


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthetic_coco'))
    sc.generate_coco(root, num_train=8, num_val=4, seed=0, max_size=160)
    return root


def test_layout_and_pycocotools(coco_root):
    pycocotools_coco = pytest.importorskip('pycocotools.coco')
    assert osp.isfile(osp.join(coco_root, '.complete'))
    img_ids = set()
    for split, num in (('train', 8), ('val', 4)):
        ann_file = osp.join(coco_root, 'annotations',
                            f'instances_{split}2017.json')
        coco = pycocotools_coco.COCO(ann_file)
        assert len(coco.getImgIds()) == num
        assert len(coco.getAnnIds()) > 0
        cats = coco.loadCats(coco.getCatIds())
        assert len(cats) == 80
        names = {c['id']: c['name'] for c in cats}
        assert names[1] == 'person' and names[3] == 'car'
        assert names[18] == 'dog' and names[90] == 'toothbrush'
        for img_id in coco.getImgIds():
            assert img_id not in img_ids
            img_ids.add(img_id)
            info = coco.loadImgs(img_id)[0]
            img = cv2.imread(
                osp.join(coco_root, f'{split}2017', info['file_name']))
            assert img.shape[:2] == (info['height'], info['width'])
            for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
                x, y, w, h = ann['bbox']
                assert w > 0 and h > 0 and x >= 0 and y >= 0
                assert x + w <= info['width'] and y + h <= info['height']
                assert ann['area'] == pytest.approx(w * h)
                assert ann['iscrowd'] == 0
                assert ann['category_id'] in sc.DRAWN_CATEGORIES


def test_deterministic(coco_root, tmp_path):
    sc.generate_coco(
        str(tmp_path / 'a'), num_train=8, num_val=4, seed=0, max_size=160)
    sc.generate_coco(
        str(tmp_path / 'b'), num_train=8, num_val=4, seed=3, max_size=160)
    rel = osp.join('annotations', 'instances_train2017.json')
    with open(osp.join(coco_root, rel)) as f:
        ref = json.load(f)
    with open(tmp_path / 'a' / rel) as f:
        assert json.load(f) == ref
    with open(tmp_path / 'b' / rel) as f:
        assert json.load(f)['annotations'] != ref['annotations']
    for name in ('000000000001.jpg', '000000000008.jpg'):
        with open(osp.join(coco_root, 'train2017', name),
                  'rb') as f1, open(tmp_path / 'a' / 'train2017' / name,
                                    'rb') as f2:
            assert f1.read() == f2.read()


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match='num_val must be >= 0'):
        sc.generate_coco(str(tmp_path / 'x'), num_val=-2)
    with pytest.raises(ValueError, match='num_train must be an integer'):
        sc.generate_coco(str(tmp_path / 'x'), num_train='3')
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(OSError, match='cannot create output directory'):
        sc.generate_coco(str(blocker / 'sub'), num_train=1, num_val=1)


def test_cli(tmp_path):
    out = str(tmp_path / 'coco')
    cmd = [sys.executable, CLI, out]
    res = subprocess.run(
        cmd + ['--num-images', '2', '--max-size', '96'],
        capture_output=True,
        text=True,
        timeout=120)
    assert res.returncode == 0, res.stderr
    assert osp.isfile(osp.join(out, 'annotations', 'instances_val2017.json'))
    res = subprocess.run(
        cmd + ['--num-val', '-1', '--force'],
        capture_output=True,
        text=True,
        timeout=120)
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
