# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Tests of the synthetic WIDER FACE generator (no mmdet needed)."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import scipy.io as sio

from tools.dataset_converters.synthetic import widerface as sw

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLI = osp.join(REPO_ROOT, 'tools', 'dataset_converters',
               'gen_synthetic_widerface.py')
MAT_NAMES = ('wider_face_val', 'wider_easy_val', 'wider_medium_val',
             'wider_hard_val')
ARGS = dict(
    num_train=10, num_val=16, max_size=256, empty_ratio=0.25, progress=False)


@pytest.fixture(scope='module')
def gen(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthetic_wider'))
    summary = sw.generate_widerface(root, seed=0, **ARGS)
    return root, summary


def _tree(root):
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = f.read()
    return files


def _parse_label_txt(path):
    """[(rel_path, [[20 floats], ...]), ...] in file order."""
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith('#'):
                records.append((line[2:], []))
            elif line:
                records[-1][1].append([float(v) for v in line.split()])
    return records


def _parse_bbx_gt(path):
    """[(rel_path, int array (n, 10)), ...] in file order."""
    with open(path) as f:
        lines = [line.rstrip('\n') for line in f]
    records, i = [], 0
    while i < len(lines):
        name, n = lines[i], int(lines[i + 1])
        rows = [[int(v) for v in lines[i + 2 + k].split()]
                for k in range(max(n, 1))]
        records.append((name, np.array(rows[:n],
                                       dtype=np.int64).reshape(n, 10), rows))
        i += 2 + max(n, 1)
    return records


def _mat_records(mat):
    """[(event/name.jpg, boxes (n, 4), {attr: (n,)}), ...] in .mat order."""
    out = []
    for i in range(mat['event_list'].shape[0]):
        event = str(mat['event_list'][i, 0][0])
        files = mat['file_list'][i, 0]
        for j in range(files.shape[0]):
            out.append((f'{event}/{files[j, 0][0]}.jpg',
                        mat['face_bbx_list'][i, 0][j, 0], {
                            k: mat[k][i, 0][j, 0].ravel()
                            for k in sw._LABEL_LISTS
                        }))
    return out


def test_layout_and_summary(gen):
    root, summary = gen
    for rel in ('train/label.txt', 'val/label.txt', 'val/wider_val.txt',
                'wider_face_split/wider_face_train_bbx_gt.txt',
                'wider_face_split/wider_face_val_bbx_gt.txt',
                'wider_face_split/wider_face_val.mat', '.complete'):
        assert osp.isfile(osp.join(root, rel)), rel
    for name in MAT_NAMES:
        assert osp.isfile(osp.join(root, 'ground_truth', name + '.mat'))
    with open(osp.join(root, '.complete')) as f:
        marker = json.load(f)
    assert marker['train']['images'] == 10 and marker['val']['images'] == 16
    assert summary['out_dir'] == osp.abspath(root)
    assert {k: v for k, v in summary.items() if k != 'out_dir'} == marker
    # real-looking names: images/<N--Event>/<N>_<...>_<number>.jpg
    for split, num in (('train', 10), ('val', 16)):
        recs = _parse_label_txt(osp.join(root, split, 'label.txt'))
        assert len(recs) == num
        for rel, _ in recs:
            event, name = rel.split('/')
            assert event.split('--')[0] == name.split('_')[0]
            assert name.endswith('.jpg') and name[:-4].rsplit('_', 1)[1] \
                .isdigit()
            assert osp.isfile(osp.join(root, split, 'images', rel))
    with open(osp.join(root, 'val', 'wider_val.txt')) as f:
        lines = f.read().splitlines()
    val = _parse_label_txt(osp.join(root, 'val', 'label.txt'))
    assert lines == sorted('/' + rel for rel, _ in val)


def test_deterministic(gen, tmp_path):
    root, _ = gen
    same = str(tmp_path / 'same')
    other = str(tmp_path / 'other')
    sw.generate_widerface(same, seed=0, **ARGS)
    sw.generate_widerface(other, seed=1, **ARGS)
    ref = _tree(root)
    assert _tree(same) == ref
    diff = _tree(other)
    assert diff['train/label.txt'] != ref['train/label.txt']
    assert diff['ground_truth/wider_face_val.mat'] != \
        ref['ground_truth/wider_face_val.mat']


def test_formats_agree(gen):
    root, summary = gen
    for split in ('train', 'val'):
        labels = _parse_label_txt(osp.join(root, split, 'label.txt'))
        bbx = _parse_bbx_gt(
            osp.join(root, 'wider_face_split',
                     f'wider_face_{split}_bbx_gt.txt'))
        assert [r[0] for r in labels] == [r[0] for r in bbx]
        n_empty = 0
        for (_, faces), (_, rows, raw) in zip(labels, bbx):
            assert all(len(f) == 20 for f in faces)
            boxes = np.array([f[:4] for f in faces]).reshape(-1, 4)
            assert np.array_equal(boxes, rows[:, :4])
            if not faces:
                n_empty += 1
                assert raw == [[0] * 10]  # one row of zeros, like WIDER
        assert n_empty == summary[split]['empty_images'] > 0
    # the val .mat files hold the same images, boxes and attributes
    bbx = _parse_bbx_gt(
        osp.join(root, 'wider_face_split', 'wider_face_val_bbx_gt.txt'))
    mat = sio.loadmat(osp.join(root, 'ground_truth', 'wider_face_val.mat'))
    recs = _mat_records(mat)
    assert [r[0] for r in recs] == [r[0] for r in bbx]
    for (_, boxes, attrs), (_, rows, _) in zip(recs, bbx):
        if len(rows) == 0:
            assert boxes.shape == (1, 4) and not boxes.any()
            continue
        assert np.array_equal(boxes, rows[:, :4])
        for col, key in enumerate(sw._LABEL_LISTS, 4):
            assert np.array_equal(attrs[key], rows[:, col]), key


def test_landmarks(gen):
    root, _ = gen
    faces = [
        f for split in ('train', 'val')
        for _, fs in _parse_label_txt(osp.join(root, split, 'label.txt'))
        for f in fs
    ]
    faces = np.array(faces)
    missing = (faces[:, 4:19] == -1).all(1)
    assert 0.03 < missing.mean() < 0.35
    for f in faces[~missing]:
        x, y, w, h = f[:4]
        pts = f[4:19].reshape(5, 3)
        # image-left first: eyes and mouth corners
        assert pts[0, 0] < pts[1, 0] and pts[3, 0] < pts[4, 0]
        assert pts[0, 1] < pts[2, 1] < pts[3, 1]
        assert set(pts[:, 2]) <= {0., 1.}
        vis = pts[pts[:, 2] == 0]
        mx, my = 2 + 0.05 * w, 2 + 0.05 * h
        assert np.all((vis[:, 0] >= x - mx) & (vis[:, 0] <= x + w + mx))
        assert np.all((vis[:, 1] >= y - my) & (vis[:, 1] <= y + h + my))
    assert np.all((faces[:, 19] > 0) & (faces[:, 19] <= 1))


def test_face_sizes(gen):
    root, _ = gen
    heights = [
        f[3] for split in ('train', 'val')
        for _, fs in _parse_label_txt(osp.join(root, split, 'label.txt'))
        for f in fs
    ]
    scale = ARGS['max_size'] / 1024
    assert min(heights) <= 12 * scale + 6
    assert max(heights) >= 150 * scale
    assert len(heights) >= 2 * (ARGS['num_train'] + ARGS['num_val'])


def test_mat_settings(gen):
    root, summary = gen
    gt = sio.loadmat(osp.join(root, 'ground_truth', 'wider_face_val.mat'))
    with open(osp.join(root, 'ground_truth', 'wider_face_val.mat'),
              'rb') as f1, open(
                  osp.join(root, 'wider_face_split', 'wider_face_val.mat'),
                  'rb') as f2:
        assert f1.read() == f2.read()
    assert 'gt_list' not in gt
    sets = {}
    for setting in sw.SETTINGS:
        mat = sio.loadmat(
            osp.join(root, 'ground_truth', f'wider_{setting}_val.mat'))
        for key in ('event_list', 'file_list', 'face_bbx_list'):
            assert len(mat[key]) == len(gt[key])
        sets[setting] = []
        for i in range(mat['gt_list'].shape[0]):
            for j in range(mat['gt_list'][i, 0].shape[0]):
                idx = mat['gt_list'][i, 0][j, 0].ravel().astype(int)
                inv = gt['invalid_label_list'][i, 0][j, 0].ravel()
                n = gt['face_bbx_list'][i, 0][j, 0].shape[0]
                assert np.all((idx >= 1) & (idx <= n))
                assert not inv[idx - 1].any()  # never an invalid face
                sets[setting].append(set(idx.tolist()))
        assert sum(map(len, sets[setting])) == summary['val'][setting]
    for easy, medium, hard in zip(sets['easy'], sets['medium'], sets['hard']):
        assert easy <= medium <= hard
    assert 0 < summary['val']['easy'] < summary['val']['hard']
    assert summary['val']['hard'] < summary['val']['faces']  # some invalid


def _signature(path):
    """Keys (in order) and, per key, the set of (level, dtype, ndim, shape
    pattern) of a WIDER .mat file."""
    mat = sio.loadmat(path)
    keys = [k for k in mat if not k.startswith('__')]
    sig = {}
    for key in keys:
        items = {('outer', mat[key].dtype.str, mat[key].ndim,
                  mat[key].shape[1])}
        for cell in mat[key][:, 0]:
            if cell.dtype != object:
                items.add(('leaf', cell.dtype.kind, cell.shape))
                continue
            items.add(('cell', cell.dtype.str, cell.ndim, cell.shape[1]))
            for leaf in cell[:, 0]:
                if leaf.dtype.kind == 'U':
                    items.add(('leaf', 'U', leaf.shape))
                elif leaf.size == 0:
                    items.add(('leaf', leaf.dtype.str, leaf.shape))
                else:
                    items.add(('leaf', leaf.dtype.str, leaf.ndim,
                               min(leaf.shape[0], 2), leaf.shape[1]))
        sig[key] = items
    return keys, sig


def test_mat_structure_matches_real(gen, wider_val_gt_dir):
    root, _ = gen
    for name in MAT_NAMES:
        real_keys, real = _signature(osp.join(wider_val_gt_dir, name + '.mat'))
        keys, ours = _signature(osp.join(root, 'ground_truth', name + '.mat'))
        assert keys == real_keys, name
        for key in keys:
            # every container / dtype / shape pattern we write occurs in the
            # real file; the outer and cell levels match exactly
            assert ours[key] <= real[key], (name, key, ours[key] - real[key])
            assert {i
                    for i in ours[key] if i[0] != 'leaf'
                    } == {i
                          for i in real[key] if i[0] != 'leaf'}, (name, key)
        # the leaf dtypes of boxes and labels are those of the real file
        for key in ('face_bbx_list', 'blur_label_list'):
            assert {i[1]
                    for i in ours[key] if i[0] == 'leaf'
                    } == {i[1]
                          for i in real[key] if i[0] == 'leaf'}


def test_bad_input(tmp_path):
    out = str(tmp_path / 'out')
    with pytest.raises(ValueError, match='num_train must be >= 0'):
        sw.generate_widerface(out, num_train=-1, progress=False)
    with pytest.raises(ValueError, match='num_val must be an integer'):
        sw.generate_widerface(out, num_val=2.5, progress=False)
    with pytest.raises(ValueError, match='max_size must be >= 64'):
        sw.generate_widerface(out, max_size=32, progress=False)
    with pytest.raises(ValueError, match='empty_ratio'):
        sw.generate_widerface(out, empty_ratio=1.5, progress=False)
    assert not osp.exists(out)
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    with pytest.raises(OSError, match='cannot create output directory'):
        sw.generate_widerface(
            str(blocker / 'sub'), num_train=1, num_val=1, progress=False)
    with pytest.raises(OSError, match='not a directory'):
        sw.generate_widerface(
            str(blocker), num_train=1, num_val=1, progress=False)


@pytest.mark.skipif(
    hasattr(os, 'geteuid') and os.geteuid() == 0,
    reason='root can write into read-only folders')
def test_unwritable_dir(tmp_path):
    ro = tmp_path / 'ro'
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OSError, match='not writable'):
            sw.generate_widerface(
                str(ro), num_train=1, num_val=1, progress=False)
    finally:
        ro.chmod(0o700)


def _cli(*args):
    return subprocess.run([sys.executable, CLI, *args],
                          capture_output=True,
                          text=True,
                          timeout=120)


def test_cli(tmp_path):
    out = str(tmp_path / 'wf')
    res = _cli(out, '--num-images', '4', '--num-val', '2', '--max-size', '128',
               '--quiet')
    assert res.returncode == 0, res.stderr
    assert osp.isfile(osp.join(out, '.complete'))
    assert len(_parse_label_txt(osp.join(out, 'val', 'label.txt'))) == 2
    res = _cli(out, '--num-images', '4')
    assert res.returncode == 0 and 'already generated' in res.stdout
    for args in (('--num-images', '-3'), ('--max-size', '10', '--force')):
        res = _cli(out, *args)
        assert res.returncode == 2
        assert 'Traceback' not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    res = _cli(str(blocker / 'sub'), '--num-images', '2')
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    assert 'cannot create output directory' in res.stderr


def test_package_import(tmp_path):
    """The conftest fixture's import path and call signature work, without
    importing mmdet or mmdet_faces."""
    code = ('import sys; from tools.dataset_converters.synthetic import '
            'generate_widerface; assert "mmdet" not in sys.modules and '
            '"mmdet_faces" not in sys.modules')
    res = subprocess.run([sys.executable, '-c', code],
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    from tools.dataset_converters.synthetic import generate_widerface
    summary = generate_widerface(
        str(tmp_path),
        num_train=2,
        num_val=2,
        seed=0,
        max_size=128,
        progress=False)
    assert summary['val']['images'] == 2
