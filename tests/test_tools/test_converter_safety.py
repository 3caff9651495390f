"""The checkpoint converters with careless input: DST = SRC is refused,
files that are no checkpoint get one line, DST is written atomically
(issue #11, items 3 and 8)."""
import os

import pytest
import torch

from tests.test_mmcv_patches.checkpoint_cases import (CONVERTERS,
                                                      bad_checkpoint_files,
                                                      tree_digest)
from tests.testing import load_script


def _load(name: str):
    return load_script(f'tools/model_converters/{name}.py', f'safety_{name}')


@pytest.fixture(scope='module', params=CONVERTERS)
def conv(request):
    return _load(request.param)


def _s3fd_source(conv, path) -> str:
    """A full S3FD.pytorch state dict (zeros) saved at ``path``."""
    torch.save({
        k: torch.zeros(s)
        for k, s in conv.reference_shapes().items()
    }, path)
    return str(path)


def test_dst_equal_to_src_is_refused(conv, tmp_path, capsys):
    src = tmp_path / 'src' / 'model.pth'
    src.parent.mkdir()
    torch.save({'w': torch.ones(3)}, src)
    (tmp_path / 'link.pth').symlink_to(src)
    os.link(src, tmp_path / 'hard.pth')
    before = tree_digest(tmp_path)
    for dst in (src, tmp_path / 'src' / '..' / 'src' / 'model.pth',
                tmp_path / 'link.pth', tmp_path / 'hard.pth'):
        assert conv.main([str(src), str(dst)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(dst) in err
        assert 'would overwrite the source checkpoint' in err
    assert conv.main([str(src), str(tmp_path)]) == 2
    assert 'is a folder' in capsys.readouterr().err
    assert tree_digest(tmp_path) == before


def test_files_that_are_no_checkpoint(conv, tmp_path, capsys):
    cases = bad_checkpoint_files(tmp_path)
    before = tree_digest(tmp_path)
    dst = tmp_path / 'out' / 'dst.pth'
    for name, (src, words) in cases.items():
        assert conv.main([src, str(dst)]) == 1, name
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert src in err and words in err, err
        assert 'Traceback' not in err and 'weights_only' not in err
    assert not dst.parent.exists()
    assert tree_digest(tmp_path) == before


def test_dst_is_replaced_atomically(tmp_path, monkeypatch):
    conv = _load('s3fd_to_mmdet')
    src = _s3fd_source(conv, tmp_path / 's3fd.pth')
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'previous conversion')

    def failing_save(obj, f, *args, **kwargs):
        f.write(b'half a checkpoint')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(torch, 'save', failing_save)
    with pytest.raises(OSError, match='No space left'):
        conv.convert(src, str(dst))
    assert dst.read_bytes() == b'previous conversion'
    assert sorted(os.listdir(tmp_path)) == ['out.pth', 's3fd.pth']
    monkeypatch.undo()
    assert conv.convert(src, str(dst)) == 'full'
    assert 'state_dict' in torch.load(dst, weights_only=True)
    assert sorted(os.listdir(tmp_path)) == ['out.pth', 's3fd.pth']
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(dst).st_mode & 0o777 == 0o666 & ~umask


def _source(conv, path) -> str:
    """A reference checkpoint each converter takes, saved at ``path``:
    S3FD.pytorch (zeros), insightface SCRFD-500M, biubug6 MobileNet0.25
    (random weights)."""
    if hasattr(conv, 'reference_shapes'):
        return _s3fd_source(conv, path)
    if hasattr(conv, 'convert_scrfd'):
        from tests.reference import scrfd_ref as ref
        torch.save({'state_dict': ref.SCRFDRef(ref.SCRFD_500M).state_dict()},
                   path)
    else:
        from tests.reference import retinaface_ref as ref
        torch.save(
            ref.RetinaFace(ref.cfg_mnet, phase='test').state_dict(), path)
    return str(path)


def test_converted_checkpoint_names_the_face_class(conv, tmp_path):
    """Every converter writes ``meta.dataset_meta`` with the class names
    (mmdet's DetInferencer / init_detector read them; without, they warn
    and take COCO's), the source file's name and its project."""
    src = _source(conv, tmp_path / 'source.pth')
    dst = tmp_path / 'out.pth'
    assert conv.main([src, str(dst)]) == 0
    meta = torch.load(dst, weights_only=True)['meta']
    assert meta['dataset_meta'] == dict(classes=('face', ))
    assert meta['converted_from'] == 'source.pth'
    assert '/' in meta['source']  # owner/project
