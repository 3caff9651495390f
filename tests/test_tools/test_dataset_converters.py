import importlib.util
import os.path as osp

import numpy as np
import pytest

from mmdet_faces.datasets.widerface_io import (WiderAnnotationWarning,
                                               parse_official_labels,
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
    for rel in [
            '1--Handshaking/1_b.jpg', '0--Parade/0_z.jpg', '0--Parade/0_a.jpg',
            '0--Parade/notes.txt'
    ]:
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
    assert back.read_text().splitlines()[1] == ('449 330 122 149 ' +
                                                ' '.join(['-1.0'] * 15) +
                                                ' 0.0')


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
    assert tool.main([str(src),
                      str(tmp_path / 'dst.txt'), '--to', 'official']) == 2
    err = capsys.readouterr().err
    assert pattern in err and str(src) in err
    assert not (tmp_path / 'dst.txt').exists()


def test_convert_same_file(tmp_path, capsys):
    tool = load_tool('convert_widerface_labels')
    src = tmp_path / 'label.txt'
    src.write_text(RETINA)
    assert tool.main([str(src), str(src), '--to', 'official']) == 2
    assert src.read_text() == RETINA


@pytest.mark.parametrize('count', ['nan', 'inf'])
def test_convert_bad_count_no_traceback(tmp_path, capsys, count):
    # was an OverflowError / ValueError traceback without file or line
    tool = load_tool('convert_widerface_labels')
    src = tmp_path / 'gt.txt'
    src.write_text(f'a.jpg\n1\n1 2 3 4 0 0 0 0 0 0\nb.jpg\n{count}\n')
    assert tool.main(
        [str(src), str(tmp_path / 'dst.txt'), '--to', 'retinaface']) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and err.startswith('error:')
    assert f'{src}, line 5: expected the face count' in err
    assert not (tmp_path / 'dst.txt').exists()


def test_convert_notes_lost_attributes(tmp_path, capsys):
    tool = load_tool('convert_widerface_labels')
    src = tmp_path / 'gt.txt'
    src.write_text('a.jpg\n3\n1 2 3 4 0 0 0 0 0 0 \n5 6 7 8 2 1 0 1 2 1 \n'
                   '9 9 9 9 1 0 2 0 0 0 \nb.jpg\n0\n0 0 0 0 0 0 0 0 0 0 \n')
    dst = tmp_path / 'label.txt'
    assert tool.main([str(src), str(dst), '--to', 'retinaface']) == 0
    out = capsys.readouterr().out
    assert 'official -> retinaface: 2 images, 3 faces' in out
    # blur is kept (20th number); the others are counted
    assert ('2 faces had attributes that the RetinaFace format cannot hold '
            'and were not kept (expression 1, illumination 1, invalid 1, '
            'occlusion 1, pose 1)') in out
    assert 'ignore_invalid has no effect' in out
    assert parse_retinaface_labels(
        str(dst)).attributes['blur'].tolist() == [0, 2, 1]
    # nothing lost: no note
    src.write_text('a.jpg\n1\n1 2 3 4 2 0 0 0 0 0 \n')
    assert tool.main([str(src),
                      str(dst), '--to', 'retinaface', '--force']) == 0
    assert 'not kept' not in capsys.readouterr().out


def test_convert_duplicates_and_unwritable_names(tmp_path, capsys):
    tool = load_tool('convert_widerface_labels')
    src = tmp_path / 'label.txt'
    src.write_text('# a/my photo.jpg\n1 2 3 4\n# a/b.jpg\n# a/b.jpg\n')
    dst = tmp_path / 'label2.txt'
    assert tool.main([str(src), str(dst), '--to', 'retinaface']) == 0
    err = capsys.readouterr().err
    assert err.startswith('warning: ') and "'a/b.jpg' at lines 3 and 4" in err
    with pytest.warns(WiderAnnotationWarning, match='1 duplicated'):
        names = parse_retinaface_labels(str(dst)).img_names
    assert names == ['a/my photo.jpg', 'a/b.jpg', 'a/b.jpg']
    # the official format reads one token per path: refused, not written
    assert tool.main([str(src),
                      str(tmp_path / 'gt.txt'), '--to', 'official']) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "first: 'a/my photo.jpg'" in err
    assert not (tmp_path / 'gt.txt').exists()


def test_make_wider_val_list_refuses_blank_names(tmp_path, capsys):
    # parse_image_list rejects a line with two tokens: report the names
    # instead of writing a list that cannot be read
    tool = load_tool('make_wider_val_list')
    images = tmp_path / 'images'
    for rel in ['0--A/my photo.jpg', '0--A/b.jpg', '1--B/x\ty.png']:
        (images / rel).parent.mkdir(parents=True, exist_ok=True)
        (images / rel).write_bytes(b'x')
    out = tmp_path / 'wider_val.txt'
    assert tool.main([str(images), str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and err.startswith('error: 2 of 3 image paths')
    assert "first: '/0--A/my photo.jpg'" in err
    assert not out.exists()


def test_existing_dst_needs_force(tmp_path, capsys):
    """Neither converter replaces an existing DST without ``--force`` (one
    line, no file changed), nor SRC through a link; with ``--force`` DST is
    replaced atomically (issue #11)."""
    from tests.test_mmcv_patches.checkpoint_cases import tree_digest
    convert = load_tool('convert_widerface_labels')
    make_list = load_tool('make_wider_val_list')
    src = tmp_path / 'label.txt'
    src.write_text(RETINA)
    images = tmp_path / 'images' / '0--Parade'
    images.mkdir(parents=True)
    (images / '0_a.jpg').write_bytes(b'x')
    dst = tmp_path / 'gt.txt'
    dst.write_text('my own annotations\n')
    val = tmp_path / 'wider_val.txt'
    val.write_text('/my/own/list.jpg\n')
    (tmp_path / 'link.txt').symlink_to(src)
    before = tree_digest(tmp_path)
    runs = [
        (convert, [str(src), str(dst), '--to', 'official'],
         f'error: DST {dst} exists; pass --force to replace it'),
        (convert,
         [str(src),
          str(tmp_path / 'link.txt'), '--to', 'official', '--force'
          ], f'error: DST {tmp_path / "link.txt"} is the input SRC {src}: '
         'converting would overwrite the source annotations'),
        (make_list, [str(tmp_path / 'images'),
                     str(val)],
         f'error: OUT_TXT {val} exists; pass --force to replace it'),
        (make_list, [str(tmp_path / 'images'),
                     str(tmp_path)], f'error: OUT_TXT {tmp_path} is a folder'),
    ]
    for tool, argv, words in runs:
        assert tool.main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert not out and err.count('\n') == 1 and err.startswith(words), \
            err
    assert tree_digest(tmp_path) == before
    assert convert.main([str(src),
                         str(dst), '--to', 'official', '--force']) == 0
    assert dst.read_text().startswith('0--Parade/a.jpg\n2\n')
    assert make_list.main([str(tmp_path / 'images'), str(val), '--force']) == 0
    assert val.read_text() == '/0--Parade/0_a.jpg\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'gt.txt', 'images', 'label.txt', 'link.txt', 'wider_val.txt'
    ]
