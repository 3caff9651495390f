"""model-index.yml, the families' metafile.yml and the old config paths.

Every config listed exists and builds (config and model); every old
one-line alias resolves to the same config as its target.
"""
import glob
import os.path as osp

import pytest
import yaml
from mmdet.registry import MODELS
from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# old path -> the config it now names (aliases kept for one release)
ALIASES = {
    'retinaface_mnet025_widerface.py':
    'retinaface/retinaface_mnet025_1xb32-250e_widerface.py',
    'retinaface_r50_widerface.py':
    'retinaface/retinaface_r50_1xb24-100e_widerface.py',
    'retinaface_mnet025_demo.py':
    'retinaface/retinaface_mnet025_1xb16-12e_widerface-synthetic.py',
    's3fd_vgg16_widerface.py':
    's3fd/s3fd_vgg16_1xb16-200k_widerface.py',
    's3fd_vgg16_widerface_demo.py':
    's3fd/s3fd_vgg16-w0.125_1xb8-300iter_widerface-synthetic.py',
    'retinanet_r50_fpn_1x_coco.py':
    'retinanet/retinanet_r50_fpn_8xb2-1x_coco.py',
    'retinanet_r50_fpn_amp_1x_coco.py':
    'retinanet/retinanet_r50_fpn_8xb2-amp-1x_coco.py',
    'retinanet_r50_fpn_npu_1x_coco.py':
    'retinanet/retinanet_r50_fpn_8xb2-npu-amp-1x_coco.py',
}


def _load(path):
    with open(osp.join(REPO_ROOT, path)) as f:
        return yaml.safe_load(f)


def _models():
    index = _load('model-index.yml')
    models = []
    for metafile in index['Import']:
        meta = _load(metafile)
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            models.append((metafile, model, collections))
    return models


MODELS_LISTED = _models()


def test_index_lists_every_family_config():
    listed = {m['Config'] for _, m, _ in MODELS_LISTED}
    assert len(listed) == len(MODELS_LISTED), 'a config listed twice'
    for family in ('retinaface', 's3fd', 'scrfd', 'retinanet'):
        folder = osp.join(REPO_ROOT, 'configs', family)
        assert osp.isfile(osp.join(folder, 'README.md')), family
        # `_name.py`: pieces the family's configs share, not configs
        on_disk = {
            osp.relpath(p, REPO_ROOT)
            for p in glob.glob(osp.join(folder, '*.py'))
            if not osp.basename(p).startswith('_')
        }
        assert on_disk <= listed, sorted(on_disk - listed)
    assert set(ALIASES.values()) <= {c[len('configs/'):] for c in listed}


@pytest.mark.parametrize(
    'metafile, model', [(f, m) for f, m, _ in MODELS_LISTED],
    ids=[m['Name'] for _, m, _ in MODELS_LISTED])
def test_listed_config_exists_and_builds(metafile, model):
    collections = {
        c
        for f, _, cs in MODELS_LISTED if f == metafile for c in cs
    }
    assert model['In Collection'] in collections
    assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
    path = osp.join(REPO_ROOT, model['Config'])
    assert osp.isfile(path), path
    for result in model.get('Results', []):
        assert result['Metrics'] and result['Dataset'], model['Name']
    if 'Converted From' in model:
        converter = model['Converted From']['Converter']
        assert osp.isfile(osp.join(REPO_ROOT, converter)), converter
    cfg = Config.fromfile(path)
    cfg.model.pop('init_cfg', None)
    backbone = cfg.model.get('backbone', {})
    backbone.pop('init_cfg', None)  # no pretrained download
    model_obj = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model_obj.parameters()) > 0


@pytest.mark.parametrize('alias, target', sorted(ALIASES.items()))
def test_old_path_is_an_alias_of_its_target(alias, target):
    alias_path = osp.join(REPO_ROOT, 'configs', alias)
    with open(alias_path) as f:
        code = [
            ln for ln in f.read().splitlines()
            if ln.strip() and not ln.startswith('#')
        ]
    assert code == [f"_base_ = './{target}'"]
    assert Config.fromfile(alias_path).to_dict() == Config.fromfile(
        osp.join(REPO_ROOT, 'configs', target)).to_dict()


def _weights(node, where):
    """Every ``Weights`` value under ``node`` (any depth), with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'Weights':
                yield f'{where}.{key}', value
            else:
                yield from _weights(value, f'{where}.{key}')
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _weights(item, f'{where}[{i}]')


def test_every_weights_field_is_a_url():
    """mmdet's metafile format: ``Weights`` (top level, or the source's
    under ``Converted From``) is a download URL, never a description."""
    files = ['model-index.yml'] + _load('model-index.yml')['Import']
    found = []
    for path in files:
        for where, value in _weights(_load(path), path):
            found.append(where)
            assert isinstance(value, str) and value.startswith(
                ('http://', 'https://')) and ' ' not in value, (where, value)
    assert found  # the walk sees the fields (e.g. RetinaNet's, S3FD's)
