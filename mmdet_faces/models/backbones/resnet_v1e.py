"""ResNetV1e: the searched residual backbones of SCRFD."""
from typing import Sequence

import torch.nn as nn
from mmdet.models.backbones.resnet import BasicBlock, Bottleneck, ResNetV1d
from mmdet.registry import MODELS

__all__ = ['ResNetV1e']

_BLOCKS = {'BasicBlock': (BasicBlock, 18), 'Bottleneck': (Bottleneck, 50)}


@MODELS.register_module()
class ResNetV1e(ResNetV1d):
    """mmdet's :class:`ResNetV1d` (deep 3x3 stem, average-pool shortcut
    downsampling) with a 2x2 stride-2 max pool after the stem instead of a
    3x3 one and searched per-stage blocks, as insightface
    ``detection/scrfd`` ``ResNetV1e(depth=0, block_cfg=...)``.

    ``block_cfg`` chooses the residual block for all stages (``'BasicBlock'``
    or ``'Bottleneck'``), the number of blocks per stage and the per-stage
    widths (``stage_planes``; a Bottleneck stage outputs ``4 x`` its planes).
    The stem has ``stem_channels`` (default ``base_channels``) channels. Key
    layout equals mmdet's ResNetV1d (``stem.N``, ``layerK.J.conv1``, ...),
    hence the reference checkpoint's.

    Args:
        block_cfg (dict): ``block`` (str), ``stage_blocks`` (Sequence[int])
            and ``stage_planes`` (Sequence[int]), one per stage.
        depth (int, optional): Ignored (the reference configs say 0); the
            arch is ``block_cfg``'s.
        **kwargs: :class:`mmdet.models.ResNet` arguments (``base_channels``,
            ``stem_channels``, ``num_stages``, ``out_indices``, ``norm_cfg``,
            ``norm_eval``, ``frozen_stages``, ``init_cfg``, ...).
    """

    def __init__(self, block_cfg: dict, depth: int = None, **kwargs) -> None:
        if block_cfg.get('block') not in _BLOCKS:
            raise ValueError(f"block_cfg['block'] must be one of "
                             f'{sorted(_BLOCKS)}, got '
                             f"{block_cfg.get('block')}")
        block, depth = _BLOCKS[block_cfg['block']]
        stage_blocks = tuple(block_cfg['stage_blocks'])
        stage_planes = tuple(block_cfg['stage_planes'])
        num_stages = kwargs.get('num_stages', 4)
        if len(stage_blocks) < num_stages or \
                len(stage_planes) < num_stages:
            raise ValueError(f'block_cfg needs {num_stages} stage_blocks and '
                             f'stage_planes, got {block_cfg}')
        # plain attributes may be set before nn.Module.__init__; ResNet reads
        # them while it builds the stages
        self.arch_settings = {depth: (block, stage_blocks)}
        self.stage_planes = stage_planes
        super().__init__(depth=depth, **kwargs)
        self.maxpool = nn.MaxPool2d(kernel_size=2, stride=2, padding=0)
        self.feat_dim = block.expansion * stage_planes[num_stages - 1]

    def make_res_layer(self, **kwargs) -> nn.Module:
        """mmdet's stage with the ``block_cfg`` width of stage
        ``len(self.res_layers)`` (the one ResNet builds now)."""
        i = len(self.res_layers)
        kwargs['planes'] = self.stage_planes[i]
        kwargs['inplanes'] = self.stem_channels if i == 0 else \
            self.stage_planes[i - 1] * self.block.expansion
        return super().make_res_layer(**kwargs)

    @property
    def out_channels(self) -> Sequence[int]:
        """Channels of every stage's output."""
        return [
            p * self.block.expansion
            for p in self.stage_planes[:self.num_stages]
        ]
