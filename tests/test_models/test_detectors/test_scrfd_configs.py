"""The SCRFD configs carry the insightface recipe; their pipelines run."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from tests.test_models.scrfd_utils import REPO_ROOT, load_converter

ARCHS = load_converter().ARCHS
CLIPPED = {'500m', '1g', '500m_kps'}  # bbox_clip_border=True in the source


def _cfg(arch):
    return Config.fromfile(osp.join(REPO_ROOT, ARCHS[arch]))


@pytest.mark.parametrize('arch', list(ARCHS))
def test_reference_recipe(arch):
    cfg = _cfg(arch)
    assert cfg.custom_imports.imports == ['mmdet_faces', 'mmcv_patches']
    assert cfg.train_dataloader.batch_size == (16 if 'kps' in arch else 8)
    assert cfg.auto_scale_lr.base_batch_size == 32
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.by_epoch, warmup.end) \
        == ('LinearLR', 0.001, False, 1500)
    assert (steps.type, steps.milestones, steps.gamma) == \
        ('MultiStepLR', [440, 544], 0.1)
    assert cfg.train_cfg.max_epochs == 640
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == \
        ('SGD', 0.02 if arch == '34g' else 0.01, 0.9, 5e-4)
    model = cfg.model
    pre = model.data_preprocessor
    assert pre.mean == [127.5] * 3 and pre.std == [128.] * 3
    assert pre.bgr_to_rgb is True
    assert model.test_cfg.score_thr == 0.02
    assert model.test_cfg.nms == dict(type='nms', iou_threshold=0.45)
    assert model.test_cfg.nms_pre == -1 and model.test_cfg.max_per_img == -1
    assert model.train_cfg.assigner == dict(type='ATSSAssigner', topk=9)
    head = model.bbox_head
    assert head.use_kps == ('kps' in arch)
    assert head.anchor_generator.base_sizes == [16, 64, 256]
    assert head.anchor_generator.scales == [1, 2]
    assert head.loss_bbox == dict(type='DIoULoss', loss_weight=2.0)
    train = cfg.train_dataloader.dataset.pipeline
    crop = [t for t in train if t.type == 'SCRFDRandomSquareCrop'][0]
    resize = [t for t in train if t.type == 'Resize'][0]
    assert crop.crop_choice == (0.3, 0.45, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8,
                                2.0)
    assert crop.clip_border == resize.clip_object_border == \
        (arch in CLIPPED)
    assert resize.scale == (640, 640) and resize.keep_ratio is False
    test = cfg.test_dataloader.dataset.pipeline
    assert [t.type for t in test] == [
        'LoadFaceImage', 'Resize', 'Pad', 'LoadFaceAnnotations',
        'PackFaceInputs'
    ]
    assert test[1].scale == test[2].size == (640, 640)
    assert test[1].keep_ratio is True


def test_pipelines_run_on_the_bundled_format(tiny_widerface):
    from mmengine.dataset import Compose

    import mmdet_faces  # noqa: F401
    cfg = _cfg('2.5g_kps')
    ds_cfg = cfg.train_dataloader.dataset
    from mmdet.registry import DATASETS
    ds = DATASETS.build(dict(ds_cfg, data_root=tiny_widerface + '/'))
    np.random.seed(0)
    item = ds[0]
    assert tuple(item['inputs'].shape) == (3, 640, 640)
    gt = item['data_samples'].gt_instances
    assert gt.keypoints.shape[1:] == (5, 2)
    test = Compose(cfg.test_dataloader.dataset.pipeline)
    out = test(ds.get_data_info(0))
    assert tuple(out['inputs'].shape) == (3, 640, 640)
    h, w = out['data_samples'].img_shape
    assert max(h, w) == 640
    assert out['data_samples'].pad_shape[:2] == (640, 640)


#: Parameters (M) of configs/scrfd/metafile.yml (insightface's table)
PARAMS_M = {
    '500m': 0.57,
    '1g': 0.64,
    '2.5g': 0.67,
    '10g': 3.86,
    '34g': 9.80,
    '500m_kps': 0.63,
    '2.5g_kps': 0.82,
    '10g_kps': 4.23
}


@pytest.mark.parametrize('arch', list(ARCHS))
def test_every_variant_builds_with_the_published_size(arch):
    from mmdet.registry import MODELS

    import mmdet_faces  # noqa: F401
    model = MODELS.build(_cfg(arch).model)
    params = sum(p.numel() for p in model.parameters())
    assert round(params / 1e6, 2) == PARAMS_M[arch]
    assert (model.bbox_head.use_kps, arch.endswith('_kps')) in ((True, True),
                                                                (False, False))


def test_metafile_parameters_are_the_configs():
    """Every ``Parameters (M)`` of configs/scrfd/metafile.yml is the size of
    the model its config builds (the demo's shared head included)."""
    import yaml
    from mmdet.registry import MODELS

    import mmdet_faces  # noqa: F401
    with open(osp.join(REPO_ROOT, 'configs', 'scrfd', 'metafile.yml')) as f:
        models = yaml.safe_load(f)['Models']
    assert len(models) == len(ARCHS) + 1
    for m in models:
        model = MODELS.build(
            Config.fromfile(osp.join(REPO_ROOT, m['Config'])).model)
        params = sum(p.numel() for p in model.parameters())
        assert round(params / 1e6, 2) == m['Metadata']['Parameters (M)'], \
            m['Name']


DEMO = 'configs/scrfd/scrfd_2.5g_kps_1xb8-12e_widerface-synthetic.py'


def test_demo_is_the_2_5g_kps_model_at_320():
    """The demo changes the head's sharing, crops, clipping, distortion and
    schedule only: the 2.5G-KPS backbone, neck and keypoint branch with the
    non-KPS configs' head (one GN tower for all strides)."""
    demo = Config.fromfile(osp.join(REPO_ROOT, DEMO))
    base = _cfg('2.5g_kps')
    head, base_head = demo.model.pop('bbox_head'), base.model.pop('bbox_head')
    assert demo.model == base.model
    shared = _cfg('2.5g').model.bbox_head
    assert (head.norm_cfg, head.strides_share) == (shared.norm_cfg, True)
    assert head.use_kps
    for key in ('norm_cfg', 'strides_share'):
        head.pop(key), base_head.pop(key)
    assert head == base_head
    assert demo.test_dataloader.dataset.pipeline == \
        base.test_dataloader.dataset.pipeline
    train = {t.type: t for t in demo.train_dataloader.dataset.pipeline}
    assert 'PhotoMetricDistortion' not in train
    assert 'FacePhotoMetricDistortion' in train
    crop, resize = train['SCRFDRandomSquareCrop'], train['Resize']
    assert crop.crop_choice == (0.3, 0.45, 0.6, 0.8, 1.0)
    assert crop.clip_border and resize.clip_object_border
    assert resize.scale == (320, 320)
    assert demo.train_cfg.max_epochs == 12
