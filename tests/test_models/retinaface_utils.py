"""Helpers shared by the RetinaFace tests (not a test module)."""
import importlib.util
import os.path as osp

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODEL_CFGS = {
    arch: osp.join(REPO_ROOT, f'configs/_base_/models/retinaface_{arch}.py')
    for arch in ('mnet025', 'r50')
}


def load_converter():
    """Import tools/model_converters/retinaface_to_mmdet.py as a module."""
    path = osp.join(REPO_ROOT, 'tools/model_converters/retinaface_to_mmdet.py')
    spec = importlib.util.spec_from_file_location('retinaface_to_mmdet', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_retinaface(arch='mnet025', **model_overrides):
    """Build our detector from the model base config."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_faces  # noqa: F401
    register_all_modules()  # default scope 'mmdet' (data preprocessor)
    cfg = Config.fromfile(MODEL_CFGS[arch])
    if arch == 'r50':
        cfg.model.backbone.init_cfg = None
    cfg.model.update(model_overrides)
    return MODELS.build(cfg.model)


def reference_targets(boxes, keypoints=None):
    """Reference ``targets`` rows ``[box, 10 landmarks, label]``; label -1
    and landmarks -1 for faces without keypoints."""
    n = boxes.size(0)
    t = torch.full((n, 15), -1.)
    t[:, :4] = boxes
    t[:, 14] = -1.
    if keypoints is not None:
        has = keypoints[1]
        t[has, 4:14] = keypoints[0][has].reshape(-1, 10)
        t[has, 14] = 1.
    return t


def random_faces(n, img_hw, gen, min_size=4., max_size=120.):
    """``n`` random boxes inside ``img_hw`` and landmarks inside them."""
    h, w = img_hw
    size = min_size + torch.rand(n, 2, generator=gen) * (max_size - min_size)
    size[:, 0].clamp_(max=w - 2)
    size[:, 1].clamp_(max=h - 2)
    x1 = torch.rand(n, generator=gen) * (w - size[:, 0])
    y1 = torch.rand(n, generator=gen) * (h - size[:, 1])
    boxes = torch.stack([x1, y1, x1 + size[:, 0], y1 + size[:, 1]], 1)
    rel = torch.rand(n, 5, 2, generator=gen)
    kpts = boxes[:, None, :2] + rel * size[:, None, :]
    return boxes, kpts
