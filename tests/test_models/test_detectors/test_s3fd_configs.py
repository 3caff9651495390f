"""The S3FD configs load, build, and the demo config trains a step."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def _cfg(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


def test_main_config_reference_settings():
    cfg = _cfg('s3fd_vgg16_widerface.py')
    assert cfg.custom_imports.imports == ['mmdet_faces', 'mmcv_patches']
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4)
    assert cfg.param_scheduler[0].milestones == [80000, 100000, 120000]
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.model.test_cfg.nms.iou_threshold == 0.3
    assert cfg.model.test_cfg.max_per_img == 750
    assert cfg.model.test_cfg.score_thr == 0.05
    resize = [t for t in cfg.train_pipeline
              if t.type == 'RandomInterpResize'][0]
    assert tuple(resize.scale) == (640, 640)


@pytest.mark.parametrize('name', ['s3fd_vgg16_widerface.py',
                                  's3fd_vgg16_widerface_demo.py'])
def test_demo_and_main_pipelines_train_a_step(tiny_widerface, name):
    from mmdet.registry import DATASETS, MODELS
    from mmdet.utils import register_all_modules
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper

    import mmdet_faces  # noqa: F401
    register_all_modules()
    cfg = _cfg(name)
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.data_root = tiny_widerface + '/'
    ds = DATASETS.build(ds_cfg)
    batch = pseudo_collate([ds[0], ds[1]])
    size = cfg.train_pipeline[-2].scale
    assert tuple(batch['inputs'][0].shape[-2:]) == tuple(size[::-1])
    if name != 's3fd_vgg16_widerface_demo.py':
        return  # the full VGG16 step is too slow for a unit test
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    log = model.train_step(batch, optim)
    assert torch.isfinite(log['loss'])
    # and the test pipeline + predict
    val_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    val_cfg.data_root = tiny_widerface + '/'
    vds = DATASETS.build(val_cfg)
    model.eval()
    with torch.no_grad():
        out = model.test_step(pseudo_collate([vds[0]]))
    assert out[0].pred_instances.bboxes.shape[1] == 4
