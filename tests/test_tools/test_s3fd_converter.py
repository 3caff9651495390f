"""tools/model_converters/s3fd_to_mmdet.py: formats, key map, refusals."""
import importlib.util
import os.path as osp
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'model_converters', 's3fd_to_mmdet.py')


@pytest.fixture(scope='module')
def conv():
    spec = importlib.util.spec_from_file_location('s3fd_to_mmdet', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake(shapes):
    """A state dict with the given shapes (small random values)."""
    return OrderedDict((k, torch.randn(s) * 0.01) for k, s in shapes.items())


def test_key_spec_equals_reference_network(conv):
    from tests.reference.s3fd_ref import VGG_CFG, S3FDRef, vgg
    ref_shapes = {k: tuple(v.shape) for k, v in S3FDRef().state_dict().items()}
    assert dict(conv.reference_shapes()) == ref_shapes
    backbone = torch.nn.ModuleList(vgg(VGG_CFG, 3)).state_dict()
    assert dict(conv.backbone_shapes()) == {
        k: tuple(v.shape)
        for k, v in backbone.items()
    }


def test_every_key_maps_and_fits_our_model(conv):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_faces  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/_base_/models/s3fd_vgg16.py'))
    model = MODELS.build(cfg.model)
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    src = _fake(conv.reference_shapes())
    out, kind = conv.convert_s3fd_state_dict(src)
    assert kind == 'full'
    assert len(out) == len(src) == 65
    assert {k: tuple(v.shape) for k, v in out.items()} == ours
    for k, v in src.items():
        assert torch.equal(out[conv.map_key(k)], v)
    bb, kind = conv.convert_s3fd_state_dict(_fake(conv.backbone_shapes()))
    assert kind == 'backbone' and len(bb) == 30
    assert all(k.startswith('backbone.features.') for k in bb)
    assert all(ours[k] == tuple(v.shape) for k, v in bb.items())


def test_bad_files_refused_with_lists(conv):
    src = _fake(conv.reference_shapes())
    del src['conf.3.bias']
    src['fc.weight'] = torch.zeros(3)
    src['loc.0.weight'] = torch.zeros(8, 256, 3, 3)
    with pytest.raises(conv.ConversionError) as e:
        conv.convert_s3fd_state_dict(src)
    msg = str(e.value)
    assert 'do not map: fc.weight' in msg
    assert 'missing key(s): conf.3.bias' in msg
    assert 'loc.0.weight: (8, 256, 3, 3) (expected (4, 256, 3, 3))' in msg
    bb = _fake(conv.backbone_shapes())
    del bb['33.bias']
    with pytest.raises(conv.ConversionError, match='33.bias'):
        conv.convert_s3fd_state_dict(bb)
    with pytest.raises(conv.ConversionError):
        conv.convert_s3fd_state_dict([1, 2])


@pytest.mark.parametrize(
    'fmt', ['plain', 'checkpoint', 'module', 'backbone', 'module_backbone'])
def test_cli_formats(conv, tmp_path, fmt):
    full = _fake(conv.reference_shapes())
    if fmt == 'plain':
        obj = full
    elif fmt == 'checkpoint':
        obj = {'epoch': 7, 'weight': full}
    elif fmt == 'module':
        obj = OrderedDict(('module.' + k, v) for k, v in full.items())
    elif fmt == 'backbone':
        obj = _fake(conv.backbone_shapes())
    else:
        obj = OrderedDict(('module.' + k, v)
                          for k, v in _fake(conv.backbone_shapes()).items())
    src, dst = tmp_path / 'in.pth', tmp_path / 'out.pth'
    torch.save(obj, src)
    assert conv.main([str(src), str(dst)]) == 0
    ckpt = torch.load(dst, weights_only=True)
    assert set(ckpt) == {'meta', 'state_dict'}
    n = 30 if 'backbone' in fmt else 65
    assert len(ckpt['state_dict']) == n
    if fmt == 'checkpoint':
        assert ckpt['meta']['epoch'] == 7
    assert ckpt['meta']['kind'] == ('backbone'
                                    if 'backbone' in fmt else 'full')


def test_cli_subprocess_refuses(conv, tmp_path):
    src = tmp_path / 'bad.pth'
    torch.save({'foo.weight': torch.zeros(1)}, src)
    r = subprocess.run(
        [sys.executable, SCRIPT,
         str(src), str(tmp_path / 'o.pth')],
        capture_output=True,
        text=True)
    assert r.returncode == 1
    assert 'foo.weight' in r.stderr and 'missing key(s)' in r.stderr
    assert not (tmp_path / 'o.pth').exists()
