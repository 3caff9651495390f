"""MobileNetV1 backbone (the RetinaFace "mobilenet0.25" body and the SCRFD
searched variants)."""
from typing import List, Optional, Sequence, Tuple

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

    ``block_cfg`` gives the searched MobileNetV1 of SCRFD (insightface
    ``detection/scrfd`` ``MobileNetV1(block_cfg=...)``) instead:
    ``stage_planes`` (6 channels ``p0..p5``) and ``stage_blocks`` (4
    counts ``n1..n4``) make ``stage1`` (the stem: 3x3 s2 conv to ``p0``,
    depthwise separable ``p0->p1``, stride 2) and ``stage{k+1}`` for
    ``k = 1..4``: ``p_k->p_{k+1} s2`` and ``n_k - 1`` blocks
    ``p_{k+1}->p_{k+1}`` (strides 4, 8, 16, 32). SCRFD uses ReLU.

    Module layout: ``stage{1,2,...}`` are ``nn.Sequential``; block 0 of
    stage1 is a :class:`ConvModule` (``conv``/``bn``), every other block is a
    :class:`DepthwiseSeparableConvModule`
    (``depthwise_conv.{conv,bn}``, ``pointwise_conv.{conv,bn}``).

    Args:
        widen_factor (float, optional): Width multiplier. Defaults to 0.25
            for the RetinaFace layout and 1.0 with ``block_cfg``.
        block_cfg (dict, optional): ``stage_planes`` (6 ints) and
            ``stage_blocks`` (4 ints) of a SCRFD backbone. Defaults to None
            (the RetinaFace layout).
        out_indices (Sequence[int]): Output stages, 0-based
            (RetinaFace: 0 is stage1, stride 8; SCRFD: 0 is the stem,
            stride 2, and 1..4 are strides 4..32). Defaults to (0, 1, 2).
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
                 widen_factor: Optional[float] = None,
                 block_cfg: Optional[dict] = None,
                 out_indices: Sequence[int] = (0, 1, 2),
                 frozen_stages: int = -1,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(
                     type='LeakyReLU', negative_slope=0.1),
                 norm_eval: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if block_cfg is not None:
            self.arch_settings = self.scrfd_arch(**block_cfg)
        if widen_factor is None:
            widen_factor = 1.0 if block_cfg is not None else 0.25
        num_stages = len(self.arch_settings)
        assert set(out_indices).issubset(range(num_stages)), \
            f'out_indices {out_indices} must be within 0..{num_stages - 1}'
        assert -1 <= frozen_stages < num_stages
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

    @staticmethod
    def scrfd_arch(stage_planes: Sequence[int],
                   stage_blocks: Sequence[int]) -> List[List[tuple]]:
        """``arch_settings`` of a SCRFD ``block_cfg`` (see the class doc)."""
        if len(stage_planes) != 6 or len(stage_blocks) != 4 or \
                min(stage_blocks) < 1:
            raise ValueError('block_cfg needs 6 stage_planes and 4 '
                             f'stage_blocks >= 1, got {stage_planes}, '
                             f'{stage_blocks}')
        arch = [[(stage_planes[0], 2), (stage_planes[1], 1)]]
        for k, num in enumerate(stage_blocks):
            arch.append([(stage_planes[k + 2], 2)] +
                        [(stage_planes[k + 2], 1)] * (num - 1))
        return arch

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
