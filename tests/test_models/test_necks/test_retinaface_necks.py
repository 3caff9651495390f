import torch

from mmdet_faces.models import FaceSSH, RetinaFaceFPN


def test_fpn_sizes_and_act_rule():
    fpn = RetinaFaceFPN([8, 16, 32], 16).eval()
    assert fpn.lateral_convs[0].activate.negative_slope == 0.1
    assert len(fpn.fpn_convs) == 2  # no merge on the top level
    big = RetinaFaceFPN([8, 16, 32], 128)
    assert big.lateral_convs[0].activate.negative_slope == 0.0
    feats = [
        torch.rand(1, 8, 19, 26),
        torch.rand(1, 16, 10, 13),
        torch.rand(1, 32, 5, 7)
    ]
    with torch.no_grad():
        outs = fpn(feats)
    assert [tuple(o.shape[2:]) for o in outs] == [(19, 26), (10, 13), (5, 7)]
    # the top level is the lateral conv alone
    with torch.no_grad():
        assert torch.equal(outs[2], fpn.lateral_convs[2](feats[2]))


def test_face_ssh():
    ssh = FaceSSH(num_levels=2, in_channels=16, out_channels=16).eval()
    block = ssh.ssh_modules[0]
    assert block.conv5x5_1.activate.negative_slope == 0.1
    assert block.conv3x3.with_activation is False
    assert block.conv3x3.conv.out_channels == 8
    relu = FaceSSH(
        num_levels=1, in_channels=4, out_channels=8, act_cfg=dict(type='ReLU'))
    assert isinstance(relu.ssh_modules[0].conv7x7_2.activate, torch.nn.ReLU)
    with torch.no_grad():
        outs = ssh([torch.randn(1, 16, 7, 9), torch.randn(1, 16, 4, 5)])
    assert outs[0].shape == (1, 16, 7, 9) and outs[1].shape == (1, 16, 4, 5)
    assert (outs[0] >= 0).all()  # ReLU after the concat
