import importlib.util
import os.path as osp

import numpy as np
import pytest

from mmdet_faces.datasets.widerface_io import (parse_official_labels,
                                               parse_retinaface_labels)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(name):
    path = osp.join(REPO, 'tools', 'dataset_converters', name + '.py')
    spec = importlib.util.spec_from_file_location('_tool_' + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FACE20 = ('449 330 122 149 488.906 373.643 0.0 542.089 376.442 0.0 '
          '515.031 412.83 0.0 485.174 425.893 1.0 538.357 431.491 0.0 0.82')
RETINA = ('# 0--Parade/a.jpg\n' + FACE20 + '\n10 20 30 40\n'
          '# 0--Parade/empty.jpg\n# 1--Handshaking/b.jpg\n1 2 3 4 ' +
          ' '.join(['-1.0'] * 15) + ' 2.0\n')


def test_make_wider_val_list(tmp_path, capsys):
    tool = load_tool('make_wider_val_list')
    images = tmp_path / 'images'
    for rel in ['1--Handshaking/1_b.jpg', '0--Parade/0_z.jpg',
                '0--Parade/0_a.jpg', '0--Parade/notes.txt']:
        (images / rel).parent.mkdir(parents=True, exist_ok=True)
        (images / rel).write_bytes(b'x')
    out = tmp_path / 'val' / 'wider_val.txt'
    assert tool.main([str(images), str(out)]) == 0
    assert out.read_text() == ('/0--Parade/0_a.jpg\n/0--Parade/0_z.jpg\n'
                               '/1--Handshaking/1_b.jpg\n')
    assert tool.main([str(tmp_path / 'nope'), str(out)]) == 2
    assert 'image folder not found' in capsys.readouterr().err
    (tmp_path / 'empty').mkdir()
    assert tool.main([str(tmp_path / 'empty'), str(out)]) == 2
    assert 'no images' in capsys.readouterr().err


def test_convert_round_trip(tmp_path, capsys):
    tool = load_tool('convert_widerface_labels')
    src = tmp_path / 'label.txt'
    src.write_text(RETINA)
    official = tmp_path / 'split' / 'gt.txt'
    assert tool.main([str(src), str(official), '--to', 'official']) == 0
    assert 'retinaface -> official: 3 images, 3 faces' in \
        capsys.readouterr().out
    text = official.read_text()
    assert text.startswith('0--Parade/a.jpg\n2\n449 330 122 149 0 0 0 0 0 0 '
                           '\n10 20 30 40 0 0 0 0 0 0 \n0--Parade/empty.jpg\n'
                           '0\n0 0 0 0 0 0 0 0 0 0 \n')
    off = parse_official_labels(str(official))
    # 0.82 is not an official blur value -> 0; 2.0 is kept
    assert off.attributes['blur'].tolist() == [0, 0, 2]
    assert off.attributes['pose'].tolist() == [0, 0, 0]

    back = tmp_path / 'back.txt'
    assert tool.main([str(official), str(back), '--to', 'retinaface']) == 0
    orig, again = parse_retinaface_labels(str(src)), \
        parse_retinaface_labels(str(back))
    assert again.img_names == orig.img_names
    assert np.array_equal(again.offsets, orig.offsets)
    assert np.array_equal(again.bboxes, orig.bboxes)
    assert (again.landmarks == -1).all()  # official has no landmarks
    assert back.read_text().splitlines()[1] == (
        '449 330 122 149 ' + ' '.join(['-1.0'] * 15) + ' 0.0')


@pytest.mark.parametrize('content,pattern', [
    (None, 'annotation file not found'),
    ('# a.jpg\n1 2 3\n', 'line 2: expected 4 or 20'),
    ('/a/b.jpg\n/a/c.jpg\n', 'is an image list'),
])
def test_convert_errors(tmp_path, capsys, content, pattern):
    tool = load_tool('convert_widerface_labels')
    src = tmp_path / 'src.txt'
    if content is not None:
        src.write_text(content)
    assert tool.main([str(src), str(tmp_path / 'dst.txt'), '--to',
                      'official']) == 2
    err = capsys.readouterr().err
    assert pattern in err and str(src) in err
    assert not (tmp_path / 'dst.txt').exists()


def test_convert_same_file(tmp_path, capsys):
    tool = load_tool('convert_widerface_labels')
    src = tmp_path / 'label.txt'
    src.write_text(RETINA)
    assert tool.main([str(src), str(src), '--to', 'official']) == 2
    assert src.read_text() == RETINA
