"""The S3FD config's tta_model + tta_pipeline, end to end on tiny data."""
import copy
import os.path as osp

import torch
from mmengine.config import Config

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def test_tta_pipeline_and_model(tiny_widerface):
    from mmdet.registry import DATASETS, MODELS
    from mmdet.utils import register_all_modules
    from mmengine.dataset import pseudo_collate

    import mmdet_faces  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 's3fd/s3fd_vgg16_1xb16-200k_widerface.py'))
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    ds_cfg.data_root = tiny_widerface + '/'
    ds_cfg.pipeline = cfg.tta_pipeline
    item = DATASETS.build(ds_cfg)[0]
    metas = [s.metainfo for s in item['data_samples']]
    assert [m['flip'] for m in metas] == [False, True, False, False]
    sf = [sum(m['scale_factor']) / 2 for m in metas]
    assert abs(sf[0] - 1) < 1e-6 and abs(sf[1] - 1) < 1e-6
    assert abs(sf[2] - .5) < .01 and abs(sf[3] - cfg.tta_enlarge) < .01

    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.widen_factor = 0.125
    model_cfg.bbox_head.in_channels = (32, 64, 64, 128, 64, 32)
    tta_cfg = copy.deepcopy(cfg.tta_model)
    tta_cfg.module = model_cfg
    model = MODELS.build(tta_cfg).eval()
    with torch.no_grad():
        out = model.test_step(pseudo_collate([item]))
    assert len(out) == 1
    pred = out[0].pred_instances
    assert 0 < len(pred) <= 750
    assert pred.bboxes.shape == (len(pred), 4)
    assert torch.all(pred.scores[:-1] >= pred.scores[1:])
