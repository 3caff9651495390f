import warnings

import numpy as np
import pytest

# yapf: disable
from mmdet_faces.datasets.widerface_io import (ATTRIBUTE_NAMES,
                                               WiderAnnotationWarning,
                                               detect_format,
                                               load_wider_annotations,
                                               parse_image_list,
                                               parse_official_labels,
                                               parse_retinaface_labels,
                                               write_image_list,
                                               write_official_labels,
                                               write_retinaface_labels)

# yapf: enable

FACE20 = ('449 330 122 149 488.906 373.643 0.0 542.089 376.442 0.0 '
          '515.031 412.83 0.0 485.174 425.893 1.0 538.357 431.491 0.0 0.82')
NO_LMK = '1 2 3 4 ' + ' '.join(['-1.0'] * 16)

RETINA = f"""# 0--Parade/0_Parade_a.jpg
{FACE20}
10 20 30 40
# 0--Parade/0_Parade_empty.jpg

# 1--Handshaking/1_b.jpg 1024 768
{NO_LMK}
"""

# the official files end each box line with a space
OFFICIAL = ('0--Parade/0_Parade_a.jpg\n'
            '2\n'
            '449 330 122 149 0 0 0 0 0 0 \n'
            '10 20 30 40 2 1 0 1 2 1 \n'
            '0--Parade/0_Parade_empty.jpg\n'
            '0\n'
            '0 0 0 0 0 0 0 0 0 0 \n'
            '1--Handshaking/1_b.jpg\n'
            '1\n'
            '1 2 3 4 1 0 1 0 0 0 \n')


def write(tmp_path, text, name='label.txt', newline='\n'):
    path = tmp_path / name
    path.write_bytes(text.replace('\n', newline).encode())
    return str(path)


@pytest.mark.parametrize('newline', ['\n', '\r\n'])
def test_retinaface_parse(tmp_path, newline):
    path = write(tmp_path, RETINA, newline=newline)
    ann = parse_retinaface_labels(path)
    assert ann.ann_format == 'retinaface'
    assert ann.img_names == [
        '0--Parade/0_Parade_a.jpg', '0--Parade/0_Parade_empty.jpg',
        '1--Handshaking/1_b.jpg'
    ]
    assert ann.offsets.tolist() == [0, 2, 2, 3]
    assert ann.bboxes.tolist() == [[449, 330, 122, 149], [10, 20, 30, 40],
                                   [1, 2, 3, 4]]
    # values are exactly Python's float() of the text
    tokens = FACE20.split()
    lmk = ann.landmarks[0].ravel().tolist()
    assert lmk == [float(t) for t in tokens[4:19]]
    assert ann.landmarks[0, 3, 2] == 1.0  # occluded flag kept
    assert (ann.landmarks[1] == -1).all()  # 4-value line: no landmarks
    assert (ann.landmarks[2] == -1).all()  # -1 line: no landmarks
    assert ann.has_landmarks.tolist() == [True, False, False]
    assert ann.attributes['blur'].tolist() == [0.82, -1, -1.0]
    assert (ann.attributes['invalid'] == -1).all()
    assert ann.line_numbers.tolist() == [2, 3, 7]
    assert ann.faces_of(1) == slice(2, 2)


def test_official_parse(tmp_path):
    path = write(tmp_path, OFFICIAL, 'gt.txt')
    ann = parse_official_labels(path)
    assert ann.img_names[1] == '0--Parade/0_Parade_empty.jpg'
    assert ann.offsets.tolist() == [0, 2, 2, 3]
    assert ann.bboxes[1].tolist() == [10, 20, 30, 40]
    assert {
        k: ann.attributes[k][1]
        for k in ATTRIBUTE_NAMES
    } == dict(
        blur=2, expression=1, illumination=0, invalid=1, occlusion=2, pose=1)
    assert ann.attributes['blur'][2] == 1
    assert (ann.landmarks == -1).all()
    assert ann.line_numbers.tolist() == [3, 4, 10]
    # a 0 count without the row of zeros is tolerated
    text = OFFICIAL.replace('0\n0 0 0 0 0 0 0 0 0 0 \n', '0\n')
    ann2 = parse_official_labels(write(tmp_path, text, 'gt2.txt'))
    assert ann2.offsets.tolist() == [0, 2, 2, 3]
    assert ann2.line_numbers.tolist() == [3, 4, 9]


def test_list_and_detect(tmp_path):
    path = write(tmp_path, '/0--Parade/a.jpg\n\n/1--H/b.jpg\n', 'list.txt')
    ann = parse_image_list(path)
    assert ann.img_names == ['0--Parade/a.jpg', '1--H/b.jpg']
    assert ann.num_faces == 0 and ann.offsets.tolist() == [0, 0, 0]
    assert detect_format(path) == 'list'
    assert detect_format(write(tmp_path, RETINA)) == 'retinaface'
    assert detect_format(write(tmp_path, OFFICIAL, 'gt.txt')) == 'official'
    assert load_wider_annotations(str(tmp_path / 'gt.txt')).num_faces == 3
    with pytest.raises(ValueError, match='ann_format'):
        load_wider_annotations(path, 'voc')
    with pytest.raises(FileNotFoundError):
        load_wider_annotations(str(tmp_path / 'missing.txt'))


@pytest.mark.parametrize('text,line,pattern', [
    ('# a.jpg\n1 2 3 4 5\n', 2, 'expected 4 or 20 numbers'),
    ('# a.jpg\n1 2 3 4\n# b.jpg\n' + FACE20 + ' 7\n', 4,
     'expected 4 or 20 numbers'),
    ('# a.jpg\n1 2 3 4\n1 2 x 4\n', 3, "'x' is not a number"),
    ('# a.jpg\n1 2 nan 4\n', 2, 'not a finite number'),
    ('# a.jpg\n1 2 3 4\n1.2.3 2 3 4\n', 3, 'not a number'),
    ('1 2 3 4\n# a.jpg\n', 1, 'before the first'),
    ('# a.jpg\n#\n', 2, 'without an image path'),
])
def test_retinaface_malformed(tmp_path, text, line, pattern):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as err:
        parse_retinaface_labels(path)
    msg = str(err.value)
    assert path in msg and f'line {line}:' in msg and pattern in msg, msg


@pytest.mark.parametrize(
    'text,line,pattern',
    [
        # count 2 but one row, then the next image: its path is read as a row
        ('a.jpg\n2\n1 2 3 4 0 0 0 0 0 0\nb.jpg\n1\n1 2 3 4 0 0 0 0 0 0\n', 4,
         'declares 2 faces at line 2'),
        # count 1 but two rows: the second row is where a path should be
        ('a.jpg\n1\n1 2 3 4 0 0 0 0 0 0\n1 2 3 4 0 0 0 0 0 0\n', 4, 'disagrees'
         ),
        ('a.jpg\n3\n1 2 3 4 0 0 0 0 0 0\n', 2, 'file ends early'),
        ('a.jpg\n', 1, 'file ends after image path'),
        ('a.jpg\nx\n', 2, 'face count'),
        ('a.jpg\n1\n1 2 3 4 0 0 0 0 0\n', 3, 'expected 10 values'),
        ('a.jpg\n1\n1 2 3 4 0 0 0 0 0 y\n', 3, "'y' is not a number"),
    ])
def test_official_malformed(tmp_path, text, line, pattern):
    path = write(tmp_path, text, 'gt.txt')
    with pytest.raises(ValueError) as err:
        parse_official_labels(path)
    msg = str(err.value)
    assert path in msg and f'line {line}:' in msg and pattern in msg, msg


def test_list_malformed(tmp_path):
    path = write(tmp_path, 'a.jpg\nb.jpg 3\n', 'list.txt')
    with pytest.raises(ValueError, match='line 2: expected one image path'):
        parse_image_list(path)


def test_writers_round_trip(tmp_path):
    ann = parse_retinaface_labels(write(tmp_path, RETINA))
    out = str(tmp_path / 'out' / 'label.txt')
    write_retinaface_labels(out, ann)
    again = parse_retinaface_labels(out)
    assert again.img_names == ann.img_names
    assert np.array_equal(again.offsets, ann.offsets)
    assert np.array_equal(again.bboxes, ann.bboxes)
    assert np.array_equal(again.landmarks, ann.landmarks)
    assert np.array_equal(again.attributes['blur'], ann.attributes['blur'])

    off = parse_official_labels(write(tmp_path, OFFICIAL, 'gt.txt'))
    out2 = str(tmp_path / 'gt_out.txt')
    write_official_labels(out2, off)
    assert open(out2).read() == OFFICIAL
    # official -> retinaface -> official keeps boxes and blur
    out3 = str(tmp_path / 'r.txt')
    write_retinaface_labels(out3, off)
    r = parse_retinaface_labels(out3)
    assert (r.landmarks
            == -1).all() and r.attributes['blur'].tolist() == [0, 2, 1]
    write_official_labels(str(tmp_path / 'o.txt'), r)
    o = parse_official_labels(str(tmp_path / 'o.txt'))
    assert np.array_equal(o.bboxes, off.bboxes)
    assert o.attributes['blur'].tolist() == [0, 2, 1]
    assert o.attributes['invalid'].tolist() == [0, 0, 0]  # unknown -> 0

    lst = str(tmp_path / 'l.txt')
    write_image_list(lst, ['b/x.jpg', 'a/y.jpg'])
    assert open(lst).read() == '/b/x.jpg\n/a/y.jpg\n'


# ----------------------------------------------------------------------------
# review findings: bad input names the file and line, or warns
@pytest.mark.parametrize('count', ['nan', 'inf', '-inf', '1_0', '1e999'])
def test_official_count_not_finite(tmp_path, count):
    # float() takes these; int() of nan / inf raised deep inside
    text = f'a.jpg\n1\n1 2 3 4 0 0 0 0 0 0\nb.jpg\n{count}\n'
    path = write(tmp_path, text, 'gt.txt')
    with pytest.raises(ValueError) as err:
        load_wider_annotations(path)
    msg = str(err.value)
    assert path in msg and 'line 5:' in msg and 'face count' in msg, msg


@pytest.mark.parametrize(
    'token,pattern',
    [
        ('1_0', "'1_0' is not a number"),  # Python's float() takes it
        ('1e999', "'1e999' is not a finite number"),
    ])
def test_number_tokens_name_the_line(tmp_path, token, pattern):
    path = write(tmp_path, f'# a.jpg\n1 2 3 4\n1 2 3 {token}\n')
    with pytest.raises(ValueError, match=f'line 3: {pattern}'):
        parse_retinaface_labels(path)


@pytest.mark.parametrize('newline', ['\n', '\r\n'])
def test_utf8_bom_is_ignored(tmp_path, newline):
    bom = b'\xef\xbb\xbf'
    for text, name, fmt in ((RETINA, 'label.txt',
                             'retinaface'), (OFFICIAL, 'gt.txt', 'official'),
                            ('/0--Parade/a.jpg\n/1--H/b.jpg\n', 'list.txt',
                             'list')):
        plain = load_wider_annotations(write(tmp_path, text, name, newline))
        path = tmp_path / ('bom_' + name)
        path.write_bytes(bom + text.replace('\n', newline).encode())
        assert detect_format(str(path)) == fmt
        ann = load_wider_annotations(str(path))
        assert ann.ann_format == fmt
        assert ann.img_names == plain.img_names
        assert not ann.img_names[0].startswith('\ufeff')
        assert np.array_equal(ann.bboxes, plain.bboxes)
        assert np.array_equal(ann.line_numbers, plain.line_numbers)


@pytest.mark.parametrize('text,name,lines', [
    ('# a/b.jpg\n1 2 3 4\n# a/c.jpg\n# a/b.jpg\n5 6 7 8\n', 'label.txt',
     (1, 4)),
    ('a/b.jpg\n1\n1 2 3 4 0 0 0 0 0 0\na/c.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n'
     'a/b.jpg\n1\n5 6 7 8 0 0 0 0 0 0\n', 'gt.txt', (1, 7)),
    ('/a/b.jpg\n/a/c.jpg\n\n/a/b.jpg\n', 'list.txt', (1, 4)),
])
def test_duplicate_images_warn(tmp_path, text, name, lines):
    path = write(tmp_path, text, name)
    with pytest.warns(WiderAnnotationWarning) as rec:
        ann = load_wider_annotations(path)
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert path in msg and '1 duplicated image' in msg, msg
    assert f"'a/b.jpg' at lines {lines[0]} and {lines[1]}" in msg, msg
    # behaviour otherwise unchanged: every listing is an image
    assert ann.img_names == ['a/b.jpg', 'a/c.jpg', 'a/b.jpg']
    assert ann.extra['num_duplicate_images'] == 1
    if name != 'list.txt':
        assert ann.bboxes[:, 0].tolist() == [1, 5]
    # three listings of one image: two duplicates, still one warning
    path = write(tmp_path, text + text.replace('a/c.jpg', 'a/d.jpg'), name)
    with pytest.warns(WiderAnnotationWarning, match='3 duplicated image'):
        assert load_wider_annotations(path).extra['num_duplicate_images'] == 3


def test_no_duplicates_no_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ann = load_wider_annotations(write(tmp_path, RETINA))
    assert ann.extra['num_duplicate_images'] == 0


def test_header_path_with_blanks(tmp_path):
    text = ('# 0--A/my photo.jpg\n1 2 3 4\n#0--A/b.jpg\n'
            '# 0--A/c d.jpg 640 480\n5 6 7 8\n')
    ann = parse_retinaface_labels(write(tmp_path, text))
    # the whole header is the path; SCRFD's trailing width height go
    assert ann.img_names == ['0--A/my photo.jpg', '0--A/b.jpg', '0--A/c d.jpg']
    out = str(tmp_path / 'again.txt')
    write_retinaface_labels(out, ann)
    assert parse_retinaface_labels(out).img_names == ann.img_names
    # formats with one token per path refuse to write what they cannot
    # read back
    with pytest.raises(
            ValueError,
            match=r"2 image paths contain blanks.*"
            r"first: '0--A/my photo.jpg'"):
        write_official_labels(str(tmp_path / 'gt.txt'), ann)
    with pytest.raises(ValueError, match='2 image paths contain blanks'):
        write_image_list(str(tmp_path / 'list.txt'), ann.img_names)
    assert not (tmp_path / 'gt.txt').exists()
    assert not (tmp_path / 'list.txt').exists()


@pytest.mark.parametrize('raw,name,line', [
    (b'/a/b.jpg\n/a/\xe9.jpg\n', 'list.txt', 2),
    (b'# a/b.jpg\n1 2 3 4\n# a/\xe9.jpg\n', 'label.txt', 3),
    (b'a/\xe9.jpg\n0\n', 'gt.txt', 1),
])
def test_image_paths_not_utf8(tmp_path, raw, name, line):
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(ValueError) as err:
        load_wider_annotations(str(path))
    msg = str(err.value)
    assert str(path) in msg and f'line {line}:' in msg and 'UTF-8' in msg
