"""The S3FD configs load, build, and the demo config trains a step."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

MAIN = 's3fd/s3fd_vgg16_1xb16-200k_widerface.py'
DEMO = 's3fd/s3fd_vgg16-w0.125_1xb8-300iter_widerface-synthetic.py'


def _cfg(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


def test_main_config_reference_settings():
    cfg = _cfg(MAIN)
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


def _pipeline_diff(ours, theirs):
    """The steps of two pipelines, as dicts, with the keys they differ in
    (the same step types in the same order)."""
    assert [t.type for t in ours] == [t.type for t in theirs]
    diff = {}
    for a, b in zip(ours, theirs):
        a, b = a.to_dict(), b.to_dict()
        keys = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
        if keys:
            diff[a['type']] = {k: a.get(k) for k in keys}
    return diff


def test_pipelines_are_the_base_ones_but_what_is_changed():
    base = Config.fromfile(
        osp.join(REPO, 'configs/_base_/datasets/widerface.py'))
    main = _cfg(MAIN)
    demo = _cfg(DEMO)
    assert _pipeline_diff(main.train_dataloader.dataset.pipeline,
                          base.train_dataloader.dataset.pipeline) == {
                              'RandomSquareCrop':
                              dict(
                                  crop_choice=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8,
                                               0.9, 1.0),
                                  max_tries=50)
                          }
    assert main.test_dataloader.dataset.pipeline == base.test_pipeline
    assert _pipeline_diff(demo.train_dataloader.dataset.pipeline,
                          main.train_dataloader.dataset.pipeline) == {
                              'RandomInterpResize': dict(scale=(256, 256))
                          }
    ours = demo.test_dataloader.dataset.pipeline
    assert ours[1] == dict(type='Resize', scale=(512, 512), keep_ratio=True)
    assert ours[:1] + ours[2:] == base.test_pipeline[:1] + \
        base.test_pipeline[2:]
    assert demo.val_dataloader == demo.test_dataloader
    assert demo.model.bbox_head.in_channels == [32, 64, 64, 128, 64, 32]


@pytest.mark.parametrize('name', [MAIN, DEMO])
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
    if name != DEMO:
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
