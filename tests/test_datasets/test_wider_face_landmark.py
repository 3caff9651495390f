import os.path as osp
import warnings

import numpy as np
import pytest
from mmdet.registry import DATASETS

import mmdet_faces.datasets.wider_face_landmark as wfl
from mmdet_faces.datasets import WIDERFaceLandmarkDataset

FACE20 = ('10 20 30 40 15.5 30.25 0.0 35.0 30.0 0.0 25.0 40.0 1.0 '
          '17.0 50.0 0.0 33.0 50.0 0.0 0.5')
NO_LMK = '60 10 8 6 ' + ' '.join(['-1.0'] * 16)
RETINA = f"""# 0--Parade/a.jpg
{FACE20}
{NO_LMK}
5 5 0 10
# 0--Parade/empty.jpg
# 1--Handshaking/b.jpg
1 2 3 4
7 7 10 -2
"""
# the official files end each box line with a space
OFFICIAL = ('0--Parade/a.jpg\n'
            '3\n'
            '10 20 30 40 0 0 0 0 0 0 \n'
            '60 10 8 6 1 0 0 1 0 0 \n'
            '70 10 20 20 0 0 0 0 0 0 \n'
            '0--Parade/empty.jpg\n'
            '0\n'
            '0 0 0 0 0 0 0 0 0 0 \n')


@pytest.fixture
def log(monkeypatch):
    records = []
    monkeypatch.setattr(wfl, 'print_log',
                        lambda msg, *a, **k: records.append(msg))
    return records


def build(tmp_path, text, name='label.txt', **kwargs):
    if text is not None:
        (tmp_path / name).write_text(text)
    cfg = dict(
        type='WIDERFaceLandmarkDataset',
        data_root=str(tmp_path),
        ann_file=name,
        data_prefix=dict(img='images/'),
        pipeline=[])
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_retinaface_data_list(tmp_path, log):
    ds = build(tmp_path, RETINA)
    assert isinstance(ds, WIDERFaceLandmarkDataset)
    assert ds.metainfo['classes'] == ('face', )
    assert len(ds) == 3  # the empty image is kept as a negative
    info = ds.get_data_info(0)
    assert info['img_path'] == osp.join(str(tmp_path), 'images/') + \
        '0--Parade/a.jpg'
    assert info['img_id'] == '0--Parade/a'
    anns = info['face_anns']
    assert anns.dtype == np.float32 and anns.shape == (2, 32)
    assert anns[:, 0:4].tolist() == [[10, 20, 40, 60], [60, 10, 68, 16]]
    assert anns[0, 4:14].tolist() == [
        15.5, 30.25, 35, 30, 25, 40, 17, 50, 33, 50
    ]
    assert anns[:, 14:19].tolist() == [[1] * 5, [0] * 5]
    assert anns[0, 19:24].tolist() == [0, 0, 1, 0, 0]
    assert anns[:, 24].tolist() == [0, 0]
    assert anns[0, 25] == 0.5 and anns[0, 26] == -1  # blur, expression
    assert anns[:, 31].tolist() == [2, 3]
    assert len(ds.get_data_info(1)['face_anns']) == 0
    assert ds.get_data_info(2)['face_anns'][:, 31].tolist() == [7]
    # two zero-size boxes dropped, one warning naming file:line
    assert ds.num_dropped_boxes == 2
    assert len(log) == 1
    ann_file = osp.join(str(tmp_path), 'label.txt')
    assert 'dropped 2 zero-size boxes' in log[0]
    assert f'{ann_file}:4' in log[0] and f'{ann_file}:8' in log[0]
    assert ds.get_cat_ids(0) == [0, 0]
    attrs = ds.get_face_attributes(0)
    assert attrs['blur'].tolist() == [0.5, -1
                                      ] and attrs['line'].tolist() == [2, 3]


def test_official_ignore_flags(tmp_path, log):
    ds = build(tmp_path, OFFICIAL, 'gt.txt')
    anns = ds.get_data_info(0)['face_anns']
    assert anns[:, 24].tolist() == [0, 1, 0]  # invalid -> ignored
    assert anns[1, 25:31].tolist() == [1, 0, 0, 1, 0, 0]
    assert (anns[:, 14:19] == 0).all()  # no landmarks in official files
    assert ds.num_dropped_boxes == 0 and not log
    assert len(ds.get_data_info(1)['face_anns']) == 0

    ds = build(tmp_path, OFFICIAL, 'gt.txt', ignore_invalid=False)
    assert ds.get_data_info(0)['face_anns'][:, 24].tolist() == [0, 0, 0]
    # short side below min_size -> ignored, not dropped (6 < 10; 20 >= 10)
    ds = build(tmp_path, OFFICIAL, 'gt.txt', ignore_invalid=False, min_size=10)
    assert ds.get_data_info(0)['face_anns'][:, 24].tolist() == [0, 1, 0]


def test_list_and_filter(tmp_path, log):
    ds = build(
        tmp_path,
        '/0--Parade/a.jpg\n/1--H/b.jpg\n',
        'wider_val.txt',
        test_mode=True)
    assert len(ds) == 2 and ds.get_data_info(1)['img_id'] == '1--H/b'
    assert ds.get_data_info(0)['face_anns'].shape == (0, 32)

    ds = build(tmp_path, RETINA, filter_cfg=dict(filter_empty_gt=True))
    assert [ds.get_data_info(i)['img_id']
            for i in range(len(ds))] == ['0--Parade/a', '1--Handshaking/b']
    # all faces ignored -> filtered too
    ds = build(
        tmp_path,
        OFFICIAL,
        'gt.txt',
        min_size=1000,
        filter_cfg=dict(filter_empty_gt=True))
    assert len(ds) == 0
    # never in test mode
    ds = build(
        tmp_path,
        OFFICIAL,
        'gt.txt',
        test_mode=True,
        filter_cfg=dict(filter_empty_gt=True))
    assert len(ds) == 2
    with pytest.raises(ValueError, match='filter_cfg'):
        build(tmp_path, OFFICIAL, 'gt.txt', filter_cfg=dict(min_size=3))


def test_formats_and_prefix(tmp_path, log):
    (tmp_path / 'train').mkdir()
    (tmp_path / 'train' / 'label.txt').write_text(RETINA)
    ds = WIDERFaceLandmarkDataset(
        ann_file=str(tmp_path / 'train' / 'label.txt'), pipeline=[])
    # default image folder: <dir of label.txt>/images (RetinaFace layout)
    assert ds.get_data_info(0)['img_path'] == str(
        tmp_path / 'train' / 'images' / '0--Parade' / 'a.jpg')
    ds = build(
        tmp_path,
        OFFICIAL,
        'gt.txt',
        ann_format='official',
        serialize_data=False)
    assert len(ds) == 2
    with pytest.raises(ValueError, match='line 1'):
        build(tmp_path, OFFICIAL, 'gt.txt', ann_format='retinaface')
    with pytest.raises(ValueError, match='line 2: expected 4 or 20'):
        build(tmp_path, '# a.jpg\n1 2 3\n')


def test_duplicate_images_logged_and_counted(tmp_path, log):
    text = RETINA + '# 0--Parade/a.jpg\n3 3 9 9\n'
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # to the log, not a Python warning
        ds = build(tmp_path, text)
    assert ds.num_duplicate_images == 1
    dup = [m for m in log if 'duplicated image' in m]
    assert len(dup) == 1 and "'0--Parade/a.jpg' at lines 1 and 9" in dup[0]
    assert osp.join(str(tmp_path), 'label.txt') in dup[0]
    # both listings stay images
    ids = [ds.get_data_info(i)['img_id'] for i in range(len(ds))]
    assert ids.count('0--Parade/a') == 2 and len(ds) == 4
    assert build(tmp_path, RETINA).num_duplicate_images == 0


def test_utf8_bom_and_blank_paths(tmp_path, log):
    (tmp_path / 'bom.txt'
     ).write_bytes(b'\xef\xbb\xbf# 0--Parade/my photo.jpg\r\n1 2 3 4\r\n')
    ds = build(tmp_path, None, 'bom.txt')
    assert ds.get_data_info(0)['img_id'] == '0--Parade/my photo'
