"""MobileNetV1 backbone (the RetinaFace "mobilenet0.25" body)."""
from typing import List, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['MobileNetV1']


@MODELS.register_module()
class MobileNetV1(BaseModule):
    """MobileNetV1 as used by biubug6/Pytorch_Retinaface.

    ``stage1``: a 3x3 stride-2 conv to ``8 * k`` channels, then depthwise
    separable blocks (3x3 depthwise + BN + act, 1x1 + BN + act, no conv
    bias) ``8k->16k``, ``16k->32k s2``, ``32k->32k``, ``32k->64k s2``,
    ``64k->64k``; ``stage2``: ``64k->128k s2`` and five ``128k->128k``;
    ``stage3``: ``128k->256k s2``, ``256k->256k``; with ``k = 4 *
    widen_factor`` (``widen_factor=0.25`` is the reference
    "mobilenet0.25"). The stages end at strides 8, 16 and 32.

    Module layout: ``stage{1,2,3}`` are ``nn.Sequential``; block 0 of stage1
    is a :class:`ConvModule` (``conv``/``bn``), every other block is a
    :class:`DepthwiseSeparableConvModule`
    (``depthwise_conv.{conv,bn}``, ``pointwise_conv.{conv,bn}``).

    Args:
        widen_factor (float): Width multiplier. Defaults to 0.25.
        out_indices (Sequence[int]): Output stages, 0-based
            (0: stage1, stride 8). Defaults to (0, 1, 2).
        frozen_stages (int): Stages to freeze (their params stop updating and
            their BN layers stay in eval mode), -1 for none; 0 freezes
            stage1. Defaults to -1.
        norm_cfg (dict): Norm layer config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to LeakyReLU(0.1).
        norm_eval (bool): Keep all BN layers in eval mode while training.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialization config, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``
            with a file made by ``tools/model_converters/
            retinaface_to_mmdet.py`` from ``mobilenetV1X0.25_pretrain.tar``.
    """

    # (out_channels at widen_factor 1, stride) per block, per stage.
    arch_settings = [
        [(32, 2), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1)],
        [(512, 2)] + [(512, 1)] * 5,
        [(1024, 2), (1024, 1)],
    ]

    def __init__(self,
                 widen_factor: float = 0.25,
                 out_indices: Sequence[int] = (0, 1, 2),
                 frozen_stages: int = -1,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(
                     type='LeakyReLU', negative_slope=0.1),
                 norm_eval: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        assert set(out_indices).issubset(range(len(self.arch_settings))), \
            f'out_indices {out_indices} must be within 0..2'
        assert -1 <= frozen_stages < len(self.arch_settings)
        self.widen_factor = widen_factor
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        self.stage_names: List[str] = []
        self.out_channels: List[int] = []
        in_channels = 3
        for i, blocks in enumerate(self.arch_settings):
            layers = []
            for j, (channels, stride) in enumerate(blocks):
                out_channels = int(channels * widen_factor)
                # the stem is a plain conv, every later block depthwise-
                # separable (conv_dw of the reference)
                block = ConvModule if i == j == 0 else \
                    DepthwiseSeparableConvModule
                layers.append(
                    block(
                        in_channels,
                        out_channels,
                        3,
                        stride=stride,
                        padding=1,
                        bias=False,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg))
                in_channels = out_channels
            name = f'stage{i + 1}'
            self.add_module(name, nn.Sequential(*layers))
            self.stage_names.append(name)
            self.out_channels.append(in_channels)

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            stage = getattr(self, self.stage_names[i])
            stage.eval()
            for param in stage.parameters():
                param.requires_grad = False

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Return the feature maps of the stages in ``out_indices``."""
        outs = []
        for i, name in enumerate(self.stage_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'MobileNetV1':
        """Set train mode, keeping frozen stages / norms in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
