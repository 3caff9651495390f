"""The RetinaFace FPN (biubug6/Pytorch_Retinaface ``models/net.py: FPN``)."""
from typing import List, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

__all__ = ['RetinaFaceFPN', 'reference_act_cfg']


def reference_act_cfg(out_channels: int) -> dict:
    """The reference's activation rule for FPN and SSH: LeakyReLU with slope
    0.1 when ``out_channels <= 64``, else slope 0 (a plain ReLU)."""
    return dict(
        type='LeakyReLU', negative_slope=0.1 if out_channels <= 64 else 0.0)


@MODELS.register_module()
class RetinaFaceFPN(BaseModule):
    """Top-down FPN with BN + activation on every conv and no merge conv on
    the top level.

    ``lat_i = act(BN(conv1x1(x_i)))``; from the top,
    ``out_top = lat_top`` and ``out_i = act(BN(conv3x3(lat_i +
    nearest_up(out_{i+1}, size of lat_i))))``. Upsampling goes to the exact
    size of the lower level (odd sizes allowed).

    Args:
        in_channels (Sequence[int]): Channels of each input level.
        out_channels (int): Output channels of every level.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict | str): Activation config, or ``'auto'`` for the
            reference rule (LeakyReLU 0.1 if ``out_channels <= 64`` else 0).
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: Union[ConfigType, str] = 'auto',
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        assert len(in_channels) >= 1
        if act_cfg == 'auto':
            act_cfg = reference_act_cfg(out_channels)
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_levels = len(in_channels)
        self.lateral_convs = nn.ModuleList([
            ConvModule(
                c,
                out_channels,
                1,
                bias=False,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for c in in_channels
        ])
        # fpn_convs[i] merges level i (0 = finest); the top level has none.
        self.fpn_convs = nn.ModuleList([
            ConvModule(
                out_channels,
                out_channels,
                3,
                padding=1,
                bias=False,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for _ in range(self.num_levels - 1)
        ])

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Fuse the levels top-down; returns one map per input level."""
        assert len(inputs) == self.num_levels
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, inputs)]
        outs: List[Tensor] = [laterals[-1]]
        for i in range(self.num_levels - 2, -1, -1):
            up = F.interpolate(
                outs[0], size=laterals[i].shape[2:], mode='nearest')
            outs.insert(0, self.fpn_convs[i](laterals[i] + up))
        return tuple(outs)
