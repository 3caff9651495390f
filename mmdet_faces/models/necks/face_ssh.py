"""SSH context module per level (biubug6/Pytorch_Retinaface ``SSH``)."""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from .retinaface_fpn import reference_act_cfg

__all__ = ['FaceSSH', 'FaceSSHBlock']


class FaceSSHBlock(BaseModule):
    """One SSH detection-context block.

    ``conv3x3``: 3x3 to ``out/2`` + BN; ``conv5x5_1``: 3x3 to ``out/4`` + BN
    + act, ``conv5x5_2``: 3x3 + BN; ``conv7x7_2``: 3x3 + BN + act on the
    ``conv5x5_1`` output, ``conv7x7_3``: 3x3 + BN; concat
    ``[out/2, out/4, out/4]`` then ``out_act``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels, a multiple of 4.
        norm_cfg (dict): Norm config.
        act_cfg (dict): Activation inside the context branches.
        out_act_cfg (dict, optional): Activation after the concat
            (the reference: ReLU).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 out_act_cfg: OptConfigType = dict(type='ReLU'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        assert out_channels % 4 == 0, 'SSH out_channels must be 4k'
        half, quarter = out_channels // 2, out_channels // 4

        def conv(cin, cout, act):
            return ConvModule(
                cin,
                cout,
                3,
                padding=1,
                bias=False,
                norm_cfg=norm_cfg,
                act_cfg=act)

        self.conv3x3 = conv(in_channels, half, None)
        self.conv5x5_1 = conv(in_channels, quarter, act_cfg)
        self.conv5x5_2 = conv(quarter, quarter, None)
        self.conv7x7_2 = conv(quarter, quarter, act_cfg)
        self.conv7x7_3 = conv(quarter, quarter, None)
        self.out_act = (
            build_activation_layer(out_act_cfg)
            if out_act_cfg is not None else nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        """Forward one level."""
        c3 = self.conv3x3(x)
        c5_1 = self.conv5x5_1(x)
        c5 = self.conv5x5_2(c5_1)
        c7 = self.conv7x7_3(self.conv7x7_2(c5_1))
        return self.out_act(torch.cat([c3, c5, c7], dim=1))


@MODELS.register_module()
class FaceSSH(BaseModule):
    """SSH context modules, one per level, with a configurable activation.

    (mmdet's own ``SSH`` neck has a fixed ReLU; the reference RetinaFace uses
    LeakyReLU 0.1 when ``out_channels <= 64``.)

    Args:
        num_levels (int): Number of input levels. Defaults to 3.
        in_channels (int | Sequence[int]): Input channels (per level).
        out_channels (int | Sequence[int]): Output channels (per level).
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict | str): Activation inside the branches, or ``'auto'``
            for the reference rule (LeakyReLU 0.1 if out <= 64 else ReLU).
        out_act_cfg (dict, optional): Activation after the concat.
            Defaults to ReLU (as the reference).
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(self,
                 num_levels: int = 3,
                 in_channels: Union[int, Sequence[int]] = 64,
                 out_channels: Union[int, Sequence[int]] = 64,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: Union[ConfigType, str] = 'auto',
                 out_act_cfg: OptConfigType = dict(type='ReLU'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(in_channels, int):
            in_channels = [in_channels] * num_levels
        if isinstance(out_channels, int):
            out_channels = [out_channels] * num_levels
        assert len(in_channels) == len(out_channels) == num_levels
        self.num_levels = num_levels
        self.ssh_modules = nn.ModuleList([
            FaceSSHBlock(
                cin,
                cout,
                norm_cfg=norm_cfg,
                act_cfg=reference_act_cfg(cout)
                if act_cfg == 'auto' else act_cfg,
                out_act_cfg=out_act_cfg)
            for cin, cout in zip(in_channels, out_channels)
        ])

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Apply each level's block."""
        assert len(inputs) == self.num_levels
        return tuple(m(x) for m, x in zip(self.ssh_modules, inputs))
