import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet_faces.models import MobileNetV1


def test_mobilenet_v1_shapes_non_square():
    model = MobileNetV1().eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 150, 203))
    # ceil(H / stride), like the reference PriorBox feature maps
    assert [tuple(o.shape) for o in outs] == [(1, 64, 19, 26),
                                              (1, 128, 10, 13), (1, 256, 5, 7)]
    assert model.out_channels == [64, 128, 256]


def test_mobilenet_v1_layout_and_keys():
    model = MobileNetV1()
    sd = model.state_dict()
    # 27 conv layers + 27 BN (5 tensors each) = 162, as the reference body
    assert len(sd) == 162
    assert 'stage1.0.conv.weight' in sd
    assert 'stage3.1.pointwise_conv.bn.running_var' in sd
    assert sd['stage2.0.depthwise_conv.conv.weight'].shape == (64, 1, 3, 3)
    assert model.stage1[0].activate.negative_slope == 0.1


def test_mobilenet_v1_out_indices_frozen_norm_eval():
    model = MobileNetV1(out_indices=(2, ), frozen_stages=0, norm_eval=True)
    model.train()
    outs = model(torch.rand(1, 3, 64, 64))
    assert len(outs) == 1 and outs[0].shape[1] == 256
    assert all(not p.requires_grad for p in model.stage1.parameters())
    assert all(p.requires_grad for p in model.stage2.parameters())
    assert all(not m.training for m in model.modules()
               if isinstance(m, _BatchNorm))
    with pytest.raises(AssertionError):
        MobileNetV1(out_indices=(3, ))
