"""Stock mmdet configs work unchanged with the plugin in custom_imports."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tests.testing import REPO_ROOT

STOCK = [
    'retinanet/retinanet_r50_fpn_1x_coco.py',
    'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
]
PLUGIN = ("custom_imports = dict(imports=['mmdet_faces', 'mmcv_patches'], "
          'allow_failed_imports=False)\n')


def _strip(d):
    d = dict(d)
    d.pop('custom_imports', None)
    return d


def _stock(name, tmp_path):
    """The stock config loaded the same way (``mmdet::``), no plugin."""
    path = tmp_path / ('stock_' + osp.basename(name))
    path.write_text(f"_base_ = 'mmdet::{name}'\n")
    return Config.fromfile(str(path))


@pytest.mark.parametrize('name', STOCK)
def test_stock_config_with_plugin_builds_and_runs(name, tmp_path):
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(f"_base_ = 'mmdet::{name}'\n" + PLUGIN)
    cfg = Config.fromfile(str(cfg_file))
    stock = _stock(name, tmp_path)
    # the plugin adds nothing but custom_imports
    assert _strip(cfg.to_dict()) == _strip(stock.to_dict())
    from mmdet.registry import MODELS
    cfg.model.backbone.init_cfg = None  # no download
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.eval()
    from mmdet.structures import DetDataSample
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(64, 64),
            ori_shape=(64, 64),
            pad_shape=(64, 64),
            batch_input_shape=(64, 64),
            scale_factor=(1., 1.)))
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64) * 255, [sample], mode='tensor')
    flat = []

    def collect(o):
        if isinstance(o, torch.Tensor):
            flat.append(o)
        elif isinstance(o, (list, tuple)):
            for x in o:
                collect(x)

    collect(out)
    assert flat and all(torch.isfinite(t).all() for t in flat)


def test_project_retinanet_config_is_stock_plus_plugin(tmp_path):
    ours = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'retinanet',
                 'retinanet_r50_fpn_8xb2-1x_coco.py'))
    stock = _stock('retinanet/retinanet_r50_fpn_1x_coco.py', tmp_path)
    assert ours.custom_imports.imports == ['mmdet_faces', 'mmcv_patches']
    assert _strip(ours.to_dict()) == _strip(stock.to_dict())
    for variant, level in (('amp', 'O1'), ('npu', 'O1')):
        cfg = Config.fromfile(
            osp.join(REPO_ROOT, 'configs',
                     f'retinanet_r50_fpn_{variant}_1x_coco.py'))
        assert cfg.optim_wrapper.type == 'MixedPrecisionOptimWrapper'
        assert cfg.optim_wrapper.opt_level == level
        assert cfg.optim_wrapper.optimizer == stock.optim_wrapper.optimizer
        assert cfg.model == stock.model
