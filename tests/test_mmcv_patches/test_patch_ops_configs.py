"""Which compiled mmcv ops the project's configs reach, found by running
them with every pure-torch op forced: loss and predict of RetinaFace, S3FD
(and its TTA), SCRFD (QFL, ATSS, DIoU, keypoints) and RetinaNet call no
compiled op without a pure-torch version, and predict the same detections,
bit for bit, as with mmcv's kernels."""
import copy
import os.path as osp
import sys
from collections import Counter

import pytest
import torch
from mmengine.config import Config

from mmcv_patches import ops as patch_ops
from mmcv_patches.torch_ops import TORCH_OPS
from tests.test_apis.face_api_utils import REPO_ROOT, face_like_

S3FD_DEMO = 's3fd/s3fd_vgg16-w0.125_1xb8-300iter_widerface-synthetic.py'


class _Recorder:
    """An ``ext_module`` that counts the compiled ops called through it."""

    def __init__(self, ext, calls: Counter) -> None:
        self._ext, self._calls = ext, calls

    def __getattr__(self, name):
        fn = getattr(self._ext, name)

        def call(*args, **kwargs):
            self._calls[name] += 1
            return fn(*args, **kwargs)

        return call


@pytest.fixture
def ext_calls(monkeypatch):
    """Counter of every compiled-op call of every ``mmcv.ops`` module."""
    import mmcv.ops  # noqa: F401
    calls = Counter()
    for name, mod in list(sys.modules.items()):
        if name.startswith('mmcv.ops.') and hasattr(mod, 'ext_module'):
            monkeypatch.setattr(mod, 'ext_module',
                                _Recorder(mod.ext_module, calls))
    return calls


def _build(model_cfg):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmdet_faces  # noqa: F401
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(model_cfg)


def _batch(cfg, root, pipeline, num=2):
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    ds_cfg.update(data_root=root + '/', pipeline=pipeline)
    ds_cfg.pop('indices', None)
    ds = DATASETS.build(ds_cfg)
    return pseudo_collate([ds[i] for i in range(num)])


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        x, y = x.pred_instances, y.pred_instances
        assert set(x.keys()) == set(y.keys())
        for k in x.keys():
            assert torch.equal(x[k], y[k]), k


def _run(model, data, monkeypatch, train=True):
    """Loss (optional) and predict, forced to pure torch; predictions
    also with mmcv's kernels."""
    model.train()
    proc = model.data_preprocessor(copy.deepcopy(data), True)
    if train:
        monkeypatch.setenv(patch_ops.FORCE_ENV, 'all')
        losses = model.loss(proc['inputs'], proc['data_samples'])
        total, _ = model.parse_losses(losses)
        assert torch.isfinite(total)
        total.backward()
    model.eval()
    with torch.no_grad():
        monkeypatch.delenv(patch_ops.FORCE_ENV, raising=False)
        ref = model.test_step(copy.deepcopy(data))
        monkeypatch.setenv(patch_ops.FORCE_ENV, 'all')
        out = model.test_step(copy.deepcopy(data))
    _same(ref, out)
    assert sum(len(o.pred_instances) for o in out) > 0
    return out


def _assert_covered(calls):
    assert calls['nms'] > 0
    assert set(calls) <= set(TORCH_OPS), set(calls) - set(TORCH_OPS)


def test_face_configs_reach_only_covered_ops(tiny_widerface, ext_calls,
                                             monkeypatch):
    for name in ('retinaface/retinaface_mnet025_1xb32-250e_widerface.py',
                 S3FD_DEMO, 'scrfd/scrfd_500m_kps_2xb16-640e_widerface.py'):
        cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', name))
        if 'scrfd' in name:  # prior-probability init: scores near 0.01
            cfg.model.backbone.init_cfg = None
            cfg.model.test_cfg.update(score_thr=0.005, nms_pre=300)
            model = _build(cfg.model)
            model.init_weights()
        else:
            model = face_like_(_build(cfg.model))
        train = _batch(cfg, tiny_widerface,
                       cfg.train_dataloader.dataset.pipeline)
        test = _batch(cfg, tiny_widerface,
                      cfg.test_dataloader.dataset.pipeline)
        model.train()
        proc = model.data_preprocessor(train, True)
        monkeypatch.setenv(patch_ops.FORCE_ENV, 'all')
        losses = model.loss(proc['inputs'], proc['data_samples'])
        total, _ = model.parse_losses(losses)
        assert torch.isfinite(total)
        total.backward()
        _run(model, test, monkeypatch, train=False)
    _assert_covered(ext_calls)

    # S3FD test-time augmentation (flip + shrink + enlarge, box voting)
    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', S3FD_DEMO))
    tta = copy.deepcopy(cfg.tta_model)
    tta.module = copy.deepcopy(cfg.model)
    torch.manual_seed(0)
    model = MODELS.build(tta)
    face_like_(model.module)
    data = _batch(cfg, tiny_widerface, cfg.tta_pipeline, num=1)
    ext_calls.clear()
    _run(model, data, monkeypatch, train=False)
    _assert_covered(ext_calls)


def test_retinanet_reaches_only_covered_ops(ext_calls, monkeypatch):
    """RetinaNet loss and predict; its focal loss also through mmdet's CUDA
    branch (mmcv's op), which on CPU runs the pure-torch kernel and equals
    the CPU branch."""
    from mmdet.models.losses import focal_loss as fl
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'retinanet',
                 'retinanet_r50_fpn_8xb2-1x_coco.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.test_cfg.update(score_thr=0.005, nms_pre=200)  # prior: 0.01
    model = _build(cfg.model)
    model.init_weights()  # prior-probability bias: unsaturated logits
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i in range(2):
        s = DetDataSample(
            metainfo=dict(
                img_shape=(96, 128),
                ori_shape=(96, 128),
                scale_factor=(1., 1.),
                pad_shape=(96, 128),
                batch_input_shape=(96, 128),
                img_id=i))
        xy = torch.rand(3, 2, generator=gen) * 60
        s.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + 20 + torch.rand(3, 2) * 30], 1),
            labels=torch.randint(0, 80, (3, ), generator=gen))
        samples.append(s)
    data = dict(
        inputs=[
            torch.randint(
                0, 255, (3, 96, 128), generator=gen, dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=samples)
    proc = model.data_preprocessor(copy.deepcopy(data), True)
    monkeypatch.setenv(patch_ops.FORCE_ENV, 'all')
    cpu_branch = model.loss(proc['inputs'], proc['data_samples'])

    def cuda_branch(self,
                    pred,
                    target,
                    weight=None,
                    avg_factor=None,
                    reduction_override=None):
        assert pred.dim() == 2 and target.dim() == 1
        return self.loss_weight * fl.sigmoid_focal_loss(
            pred,
            target,
            weight,
            gamma=self.gamma,
            alpha=self.alpha,
            reduction=reduction_override or self.reduction,
            avg_factor=avg_factor)

    monkeypatch.setattr(fl.FocalLoss, 'forward', cuda_branch)
    ext_calls.clear()
    kernel = model.loss(proc['inputs'], proc['data_samples'])
    assert ext_calls['sigmoid_focal_loss_forward'] > 0
    for a, b in zip(cpu_branch['loss_cls'], kernel['loss_cls']):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    sum(kernel['loss_cls']).backward()
    assert ext_calls['sigmoid_focal_loss_backward'] > 0
    monkeypatch.undo()  # FocalLoss back; the recorder again below
    for name, mod in list(sys.modules.items()):
        if name.startswith('mmcv.ops.') and hasattr(mod, 'ext_module'):
            monkeypatch.setattr(mod, 'ext_module',
                                _Recorder(mod.ext_module, ext_calls))
    _run(model, data, monkeypatch, train=False)
    _assert_covered(ext_calls)
