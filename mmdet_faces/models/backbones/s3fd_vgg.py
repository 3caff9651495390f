"""S3FDVGG: the VGG16 trunk of S3FD with L2Norm sources and extra stages."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig
from mmengine.model import BaseModule

from ..layers.l2norm import L2Norm

__all__ = ['S3FDVGG']


@MODELS.register_module()
class S3FDVGG(BaseModule):
    """VGG16 in the S3FD layout, returning the six S3FD sources.

    ``features`` is the reference ``vgg`` list with the same indices (so the
    reference key ``vgg.N`` is ``features.N`` here, and ``vgg16_reducedfc``'s
    ``N`` likewise): conv1_1 .. conv5_3 with 2x2 max-pools, only the pool
    after conv3_3 in ceil mode, pool5 2x2 stride 2, conv6 3x3 dilation 6
    (512->1024), conv7 1x1 (1024->1024). mmdet's ``SSDVGG`` builds the same
    indices but with every pool in ceil mode and a 3x3 stride-1 pool5, which
    changes the feature-map sizes, so the trunk is built here from the
    reference's cfg list.

    Then ``extras``: 1x1 1024->256, 3x3 s2 ->512 (conv6_2), 1x1 512->128,
    3x3 s2 ->256 (conv7_2), ReLU after each; and ``l2_norms`` on conv3_3
    (scale 10), conv4_3 (8) and conv5_3 (5).

    Outputs (strides 4, 8, 16, 32, 64, 128 with a 640 input):
    ``L2Norm(conv3_3), L2Norm(conv4_3), L2Norm(conv5_3), fc7, conv6_2,
    conv7_2``.

    Args:
        widen_factor (float): Multiplies every channel count (1.0 = the
            reference; smaller values give a light model for quick CPU runs,
            incompatible with the reference checkpoints).
        l2_norm_scales (Sequence[float]): Initial L2Norm scales.
        pretrained (str, optional): A converted ``vgg16_reducedfc`` (or
            any checkpoint with ``backbone.`` keys) loaded after the init,
            as ``dict(type='Pretrained', prefix='backbone.')``.
        init_cfg (dict | list[dict], optional): Initialisation; the default
            is Xavier-uniform with zero bias for every conv, the reference's
            init for the layers it does not load from ``vgg16_reducedfc``.
    """

    # the reference ``vgg_cfg``: 'M' pool 2x2, 'C' pool 2x2 in ceil mode
    arch = [
        64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'C', 512, 512, 512, 'M',
        512, 512, 512, 'M'
    ]
    # indices (in ``features``) after which conv3_3, conv4_3 and conv5_3
    # (with their ReLU) are tapped, and the last index (fc7 ReLU)
    source_indices = (15, 22, 29, 34)

    def __init__(
        self,
        widen_factor: float = 1.0,
        l2_norm_scales: Sequence[float] = (10., 8., 5.),
        pretrained: Optional[str] = None,
        init_cfg: OptMultiConfig = dict(
            type='Xavier', layer='Conv2d', distribution='uniform', bias=0.)
    ) -> None:
        if pretrained is not None:
            if init_cfg is None:
                init_cfg = []
            elif not isinstance(init_cfg, list):
                init_cfg = [init_cfg]
            init_cfg = list(init_cfg) + [
                dict(
                    type='Pretrained',
                    checkpoint=pretrained,
                    prefix='backbone.')
            ]
        super().__init__(init_cfg=init_cfg)
        self.widen_factor = widen_factor

        def ch(c: int) -> int:
            return max(1, int(round(c * widen_factor)))

        layers: List[nn.Module] = []
        in_ch = 3
        for v in self.arch:
            if v == 'M':
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            elif v == 'C':
                layers.append(
                    nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True))
            else:
                layers += [
                    nn.Conv2d(in_ch, ch(v), kernel_size=3, padding=1),
                    nn.ReLU(inplace=True)
                ]
                in_ch = ch(v)
        layers += [
            nn.Conv2d(in_ch, ch(1024), kernel_size=3, padding=6, dilation=6),
            nn.ReLU(inplace=True),
            nn.Conv2d(ch(1024), ch(1024), kernel_size=1),
            nn.ReLU(inplace=True)
        ]
        self.features = nn.Sequential(*layers)
        self.extras = nn.ModuleList([
            nn.Conv2d(ch(1024), ch(256), kernel_size=1),
            nn.Conv2d(ch(256), ch(512), kernel_size=3, stride=2, padding=1),
            nn.Conv2d(ch(512), ch(128), kernel_size=1),
            nn.Conv2d(ch(128), ch(256), kernel_size=3, stride=2, padding=1),
        ])
        self.l2_norms = nn.ModuleList([
            L2Norm(ch(c), s) for c, s in zip((256, 512, 512), l2_norm_scales)
        ])
        self.out_channels = (ch(256), ch(512), ch(512), ch(1024), ch(512),
                             ch(256))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Args: x (Tensor): (N, 3, H, W). Returns: tuple of six tensors."""
        outs = []
        start = 0
        for k, end in enumerate(self.source_indices):
            for layer in self.features[start:end + 1]:
                x = layer(x)
            start = end + 1
            outs.append(self.l2_norms[k](x) if k < 3 else x)
        for k, conv in enumerate(self.extras):
            x = F.relu(conv(x), inplace=True)
            if k % 2 == 1:
                outs.append(x)
        return tuple(outs)
