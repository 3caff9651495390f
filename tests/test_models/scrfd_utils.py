"""Helpers shared by the SCRFD tests (not a test module)."""
import os.path as osp

import torch

from tests.reference import scrfd_ref as ref
from tests.testing import load_script

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: reference model settings of the converter's released variants
REF_CFGS = {
    '500m': ref.SCRFD_500M,
    '500m_kps': ref.SCRFD_500M_KPS,
    '2.5g_kps': ref.SCRFD_2_5G_KPS,
    '10g': ref.SCRFD_10G,
}


def load_converter():
    """tools/model_converters/scrfd_to_mmdet.py as a module."""
    return load_script('tools/model_converters/scrfd_to_mmdet.py')


def build_scrfd(arch='500m', **test_cfg):
    """Build our SCRFD of the converter's config for ``arch``."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_faces  # noqa: F401
    register_all_modules()
    conv = load_converter()
    cfg = Config.fromfile(osp.join(REPO_ROOT, conv.ARCHS[arch]))
    cfg.model.backbone.init_cfg = None
    cfg.model.test_cfg.update(test_cfg)
    return MODELS.build(cfg.model)


def reference_and_converted(arch='500m', seed=0, head_gain=0.3):
    """A seeded random reference network and our model loaded with its
    converted state dict (both in eval mode)."""
    net = ref.randomize_(ref.SCRFDRef(REF_CFGS[arch]), seed, head_gain)
    conv = load_converter()
    state_dict, used = conv.convert_scrfd({
        'meta': {
            'epoch': 640
        },
        'state_dict': net.state_dict()
    })
    assert used == arch
    model = build_scrfd(arch)
    missing, unexpected = model.load_state_dict(state_dict, strict=True)
    assert not missing and not unexpected
    return net.eval(), model.eval()


def normalise(img_bgr: torch.Tensor) -> torch.Tensor:
    """The reference input of uint8 BGR (B, 3, H, W) images: RGB,
    (x - 127.5) / 128."""
    return (img_bgr.flip(1).float() - 127.5) / 128.


def face_like_checkpoint(arch: str, path: str) -> str:
    """A converted random SCRFD checkpoint of ``arch`` at ``path`` whose
    scores look like a trained model's: a few anchors above 0.5, boxes
    with positive distances."""
    _, model = reference_and_converted(arch, seed=6, head_gain=0.2)
    with torch.no_grad():
        for conv in model.bbox_head.conv_cls:
            conv.bias -= 1.5
        for conv in model.bbox_head.conv_reg:
            conv.bias += 2.0
    torch.save(
        {
            'state_dict': model.state_dict(),
            'meta': {
                'dataset_meta': {
                    'classes': ('face', )
                }
            }
        }, path)
    return str(path)
