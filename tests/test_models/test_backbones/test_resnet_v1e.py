import pytest
import torch
from mmdet.models.backbones.resnet import Bottleneck

from mmdet_faces.models import MobileNetV1, ResNetV1e
from tests.reference import scrfd_ref as ref


def test_resnet_v1e_stages_pool_and_keys():
    cfg = ref.SCRFD_34G['backbone']
    model = ResNetV1e(
        block_cfg=cfg['block_cfg'], base_channels=56, norm_eval=False)
    model.eval()  # mmdet's ResNet.train() returns None
    assert isinstance(model.layer1[0], Bottleneck)
    assert [len(getattr(model, f'layer{i}')) for i in range(1, 5)] == \
        [17, 16, 2, 8]
    assert model.out_channels == [224, 224, 576, 736]
    assert model.maxpool.kernel_size == 2 and model.maxpool.padding == 0
    # the reference layout, key for key
    ours = {k: v.shape for k, v in model.state_dict().items()}
    theirs = {
        k: v.shape
        for k, v in ref.ResNetV1e(cfg['block_cfg'], 56).state_dict().items()
    }
    assert ours == theirs
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 70, 98))
    # stem /2, pool /2 (floor), then strides 1, 2, 2, 2
    sizes = [tuple(o.shape[2:]) for o in outs]
    assert sizes == [(17, 24), (9, 12), (5, 6), (3, 3)]
    with pytest.raises(ValueError, match='block_cfg'):
        ResNetV1e(
            block_cfg=dict(
                block='Res2', stage_blocks=(1, ) * 4, stage_planes=(8, ) * 4))
    with pytest.raises(ValueError, match='4 stage_blocks'):
        ResNetV1e(
            block_cfg=dict(
                block='BasicBlock', stage_blocks=(1, 1), stage_planes=(8, 8)))


def test_mobilenet_v1_scrfd_block_cfg():
    cfg = ref.SCRFD_500M['backbone']['block_cfg']
    model = MobileNetV1(
        block_cfg=cfg, out_indices=(1, 2, 3, 4),
        act_cfg=dict(type='ReLU')).eval()
    assert model.widen_factor == 1.0
    assert model.out_channels == [16, 40, 72, 152, 288]
    assert [len(getattr(model, f'stage{i}')) for i in range(1, 6)] == \
        [2, 2, 3, 2, 6]
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 96))
    shapes = [tuple(o.shape[1:]) for o in outs]
    assert shapes == [(40, 16, 24), (72, 8, 12), (152, 4, 6), (288, 2, 3)]
    # same number of tensors as the reference backbone
    assert len(model.state_dict()) == len(ref.MobileNetV1(cfg).state_dict())
    with pytest.raises(ValueError, match='6 stage_planes'):
        MobileNetV1(
            block_cfg=dict(stage_blocks=(1, 1, 1, 1), stage_planes=[8] * 5))
