"""Random weights and norm statistics for the reference re-creations (not
in any reference): a parity test then exercises every tensor of a state
dict."""
import torch
import torch.nn as nn


def randomize_modules_(net: nn.Module, g: torch.Generator) -> nn.Module:
    """Draw BN weights / biases / running statistics, GN affine
    parameters and conv / linear weights (fan-in scaled) and biases from
    ``g``, module by module."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.num_batches_tracked.fill_(
                    int(torch.randint(1, 1000, (1, ), generator=g)))
            elif isinstance(m, nn.GroupNorm):
                n = m.num_channels
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
            elif isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(
                    torch.randn(m.weight.shape, generator=g) / fan_in**0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return net
