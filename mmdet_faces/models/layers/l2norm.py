"""L2Norm: channel-wise L2 normalisation with a learned per-channel scale."""
import torch
import torch.nn as nn
from mmdet.registry import MODELS

__all__ = ['L2Norm']


@MODELS.register_module()
class L2Norm(nn.Module):
    """ParseNet L2 normalisation as used by SSD/S3FD.

    ``y = weight[c] * x / (||x||_2 + eps)`` with the norm over channels; the
    weight starts at ``scale`` (S3FD: 10, 8, 5 on conv3_3, conv4_3, conv5_3).
    Same computation as mmdet's ``ssd_neck.L2Norm`` (which is not registered
    and leaves the initial scale to its neck), in the reference's order of
    operations, and computed in float32 for half-precision inputs.

    Args:
        n_dims (int): Number of channels.
        scale (float): Initial value of the per-channel weight.
        eps (float): Added to the norm. Default: 1e-10.
    """

    def __init__(self, n_dims: int, scale: float = 20., eps: float = 1e-10):
        super().__init__()
        self.n_dims = n_dims
        self.scale = scale
        self.eps = eps
        self.weight = nn.Parameter(torch.full((n_dims, ), float(scale)))

    def reset_parameters(self) -> None:
        nn.init.constant_(self.weight, self.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_float = x.float()
        norm = x_float.pow(2).sum(dim=1, keepdim=True).sqrt() + self.eps
        out = self.weight.float()[None, :, None, None] * torch.div(
            x_float, norm)
        return out.type_as(x)

    def extra_repr(self) -> str:
        return f'{self.n_dims}, scale={self.scale}, eps={self.eps}'
