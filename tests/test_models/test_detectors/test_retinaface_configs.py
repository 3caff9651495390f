"""The RetinaFace configs carry the reference recipe."""
import os.path as osp

import pytest
from mmengine.config import Config

from tests.test_models.retinaface_utils import REPO_ROOT


def _cfg(name):
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', name))


@pytest.mark.parametrize('name,batch,size,epochs,steps', [
    ('retinaface/retinaface_mnet025_1xb32-250e_widerface.py', 32, 640, 250,
     [190, 220]),
    ('retinaface/retinaface_r50_1xb24-100e_widerface.py', 24, 840, 100,
     [70, 90]),
])
def test_reference_recipe(name, batch, size, epochs, steps):
    cfg = _cfg(name)
    assert cfg.custom_imports.imports == ['mmdet_faces', 'mmcv_patches']
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == batch
    resize = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t.type == 'RandomInterpResize'
    ]
    assert resize[0].scale == (size, size)
    assert cfg.train_cfg.max_epochs == epochs
    (sched, ) = cfg.param_scheduler  # no warmup: the reference has none
    assert sched.type == 'MultiStepLR' and sched.milestones == steps
    assert sched.gamma == 0.1
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == \
        ('SGD', 1e-3, 0.9, 5e-4)
    model = cfg.model
    pre = model.data_preprocessor
    assert pre.mean == [104., 117., 123.] and pre.std == [1., 1., 1.]
    assert pre.bgr_to_rgb is False and pre.pad_size_divisor == 1
    assert model.test_cfg.score_thr == 0.02
    assert model.test_cfg.nms == dict(type='nms', iou_threshold=0.4, offset=1)
    assert model.test_cfg.nms_pre == -1 and model.test_cfg.max_per_img == -1
    assert model.bbox_head.loss_weights == dict(
        loss_cls=1.0, loss_bbox=2.0, loss_landmark=1.0)
    assert cfg.test_dataloader.batch_size == 1
    assert cfg.test_dataloader.dataset.pipeline[1].type == 'ResizeShortSide'


def _base_cfg(name):
    return Config.fromfile(osp.join(REPO_ROOT, 'configs/_base_', name))


@pytest.mark.parametrize('name,size', [
    ('retinaface/retinaface_mnet025_1xb32-250e_widerface.py', 640),
    ('retinaface/retinaface_r50_1xb24-100e_widerface.py', 840),
    ('retinaface/retinaface_mnet025_1xb16-12e_widerface-synthetic.py', 320),
])
def test_train_pipeline_is_the_base_one_but_the_scale(name, size):
    base = _base_cfg('datasets/widerface.py')
    ours = _cfg(name).train_dataloader.dataset.pipeline
    theirs = base.train_dataloader.dataset.pipeline
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = a.to_dict(), b.to_dict()
        if a['type'] == 'RandomInterpResize':
            assert a.pop('scale') == (size, size)
            b.pop('scale')
        assert a == b


def test_r50_model_is_the_mnet_one_but_the_backbone_and_width():
    mnet = _base_cfg('models/retinaface_mnet025.py').model
    r50 = _cfg('retinaface/retinaface_r50_1xb24-100e_widerface.py').model
    assert r50.backbone.type == 'ResNet'
    assert r50.backbone.out_indices == (1, 2, 3)
    assert r50.neck[0].in_channels == [512, 1024, 2048]
    assert r50.neck[1].in_channels == 256
    assert r50.bbox_head.in_channels == 256
    for ours, theirs in zip(r50.neck, mnet.neck):
        ours, theirs = ours.to_dict(), theirs.to_dict()
        assert ours.pop('out_channels') == 256
        assert ours.pop('act_cfg') == dict(
            type='LeakyReLU', negative_slope=0.0)
        ours.pop('in_channels')
        for key in ('in_channels', 'out_channels', 'act_cfg'):
            theirs.pop(key)
        assert ours == theirs
    for key in mnet:
        if key not in ('backbone', 'neck', 'bbox_head'):
            assert r50[key] == mnet[key], key
    head = dict(r50.bbox_head.to_dict(), in_channels=64)
    assert head == mnet.bbox_head.to_dict()


def test_base_val_loader_is_the_val_split_in_test_mode():
    base = _base_cfg('datasets/widerface.py')
    val, train = base.val_dataloader, base.train_dataloader
    assert base.test_dataloader == val
    assert (val.batch_size, val.num_workers) == (1, 2)
    assert val.persistent_workers is True and val.drop_last is False
    assert val.sampler == dict(type='DefaultSampler', shuffle=False)
    assert val.dataset == dict(
        type='WIDERFaceLandmarkDataset',
        data_root='data/widerface/',
        ann_file='val/label.txt',
        data_prefix=dict(img='val/images/'),
        test_mode=True,
        pipeline=base.test_pipeline,
        backend_args=None)
    assert train.sampler.shuffle is True and 'test_mode' not in train.dataset
    assert train.dataset.ann_file == 'train/label.txt'


def test_mxnet_scale_cfg_option():
    cfg = _cfg('retinaface/retinaface_mnet025_1xb32-250e_widerface.py')
    cfg.merge_from_dict({
        'test_dataloader.dataset.pipeline.1.short_side':
        1600,
        'test_dataloader.dataset.pipeline.1.max_long_side':
        2150
    })
    step = cfg.test_dataloader.dataset.pipeline[1]
    assert (step.short_side, step.max_long_side) == (1600, 2150)


def test_family_recipes_are_the_sources():
    """The converter's recipe config of each family carries that source's
    own test recipe (listing and building: tests/test_model_index.py)."""
    from tests.test_models.retinaface_utils import load_converter
    recipes = load_converter().RECIPES
    for (family, arch), path in recipes.items():
        cfg = Config.fromfile(osp.join(REPO_ROOT, path))
        test = cfg.model.test_cfg
        steps = {t.type: t for t in cfg.test_dataloader.dataset.pipeline}
        assert cfg.val_dataloader.dataset.pipeline == \
            cfg.test_dataloader.dataset.pipeline
        if family == 'bubbliiiing':
            assert steps['LetterboxResize'].size == (1280, 1280)
            assert 'border' in steps['PackFaceInputs'].meta_keys
            assert cfg.model.data_preprocessor.bgr_to_rgb
            assert (test.score_thr, test.nms.iou_threshold,
                    test.nms.offset) == (0.01, 0.3, 0)
            continue
        assert not cfg.model.data_preprocessor.bgr_to_rgb
        assert (test.score_thr, test.nms.iou_threshold, test.nms.offset) \
            == (0.02, 0.4, 1)
        resize = steps['ResizeShortSide']
        expected = {
            'biubug6': (None, None),
            'yakhyo': (1600, 2150),
            'mindspore': (1600, 2176)
        }[family]
        assert (resize.short_side, resize.max_long_side) == expected
        if family == 'mindspore':
            assert steps['Pad'].size == (2176, 2176)
