"""A conditional StyleGAN-like generator: mapping (z + label -> w), the w moving average, synthesis (w -> image).

Faithful to the generator the Oh-LoRA project fine-tuned (a StyleGAN generator in the layout of genforce):
- the mapping network's `label_weight` is a float32 `nn.Parameter` (label_size x 512) drawn with `randn`, and
  `embedding = torch.matmul(label, self.label_weight)` is concatenated to z before the dense layers;
- dense layers use weight scaling (`weight * wscale` at run time, lr multiplier 0.01), so each call's autograd
  graph holds a scaled copy of every mapping weight;
- in train mode, forward updates the moving average of w held in the registered buffer `w_avg` with an in-place
  `copy_` of `w_avg * decay + batch_mean * (1 - decay)`, decay 0.995, computed without `detach()`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DenseBlock", "MappingNetwork", "Truncation", "SynthesisNetwork", "Generator"]


class DenseBlock(nn.Module):
    """A weight-scaled linear layer with leaky ReLU, as StyleGAN's mapping uses (equalised learning rate)."""

    def __init__(self, in_features: int, out_features: int, *, lr_mul: float = 1.0, activate: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.wscale = lr_mul / math.sqrt(in_features)
        self.bscale = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.wscale, self.bias * self.bscale)
        return F.leaky_relu(x, 0.2) * math.sqrt(2.0) if self.activate else x


class MappingNetwork(nn.Module):
    """z (512) and a label (label_size) -> w (512), through the label embedding and 8 dense layers."""

    def __init__(self, z_dim: int = 512, w_dim: int = 512, label_size: int = 5, num_layers: int = 8) -> None:
        super().__init__()
        self.z_dim, self.label_size = z_dim, label_size
        self.label_weight = nn.Parameter(torch.randn(label_size, z_dim))
        dims = [z_dim * 2] + [w_dim] * num_layers
        self.dense = nn.ModuleList(DenseBlock(a, b, lr_mul=0.01) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        embedding = torch.matmul(label, self.label_weight)
        z = torch.cat((z, embedding), dim=1)
        w = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)  # pixel norm
        for layer in self.dense:
            w = layer(w)
        return w


class Truncation(nn.Module):
    """Holds `w_avg`, the moving average of w that truncation pulls styles towards."""

    def __init__(self, w_dim: int = 512) -> None:
        super().__init__()
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, w: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        return w if psi >= 1.0 else self.w_avg + (w - self.w_avg) * psi


class ModulatedConv(nn.Module):
    """A style-modulated, demodulated 3x3 convolution, optionally after 2x upsampling."""

    def __init__(self, w_dim: int, in_ch: int, out_ch: int, *, upsample: bool) -> None:
        super().__init__()
        self.style = DenseBlock(w_dim, in_ch, activate=False)
        with torch.no_grad():
            self.style.bias.fill_(1.0)
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.upsample = upsample

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        batch, in_ch, height, width = x.shape
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            height, width = height * 2, width * 2
        style = self.style(w)  # (batch, in_ch)
        weight = self.weight[None] * style[:, None, :, None, None] / math.sqrt(in_ch * 9)
        weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        x = x.reshape(1, batch * in_ch, height, width)
        out = F.conv2d(x, weight.reshape(-1, in_ch, 3, 3), padding=1, groups=batch)
        out = out.reshape(batch, -1, height, width) + self.bias[None, :, None, None]
        return F.leaky_relu(out, 0.2) * math.sqrt(2.0)


class SynthesisNetwork(nn.Module):
    """w -> an RGB image in [-1, 1]: a learned 4x4 constant, modulated convolutions, doubling to `resolution`."""

    def __init__(self, w_dim: int = 512, resolution: int = 16, channels: int = 16) -> None:
        super().__init__()
        self.const = nn.Parameter(torch.randn(1, channels, 4, 4))
        blocks = int(math.log2(resolution // 4))
        self.convs = nn.ModuleList(
            [ModulatedConv(w_dim, channels, channels, upsample=False)]
            + [ModulatedConv(w_dim, channels, channels, upsample=True) for _ in range(blocks)]
        )
        self.to_rgb = nn.Conv2d(channels, 3, 1)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        x = self.const.expand(w.shape[0], -1, -1, -1)
        for conv in self.convs:
            x = conv(x, w)
        return torch.tanh(self.to_rgb(x))


class Generator(nn.Module):
    """The conditional generator: `generator(z, label)` -> images, updating `w_avg` in train mode."""

    def __init__(
        self, *, label_size: int = 5, z_dim: int = 512, resolution: int = 16, w_moving_decay: float = 0.995
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.w_moving_decay = w_moving_decay
        self.mapping = MappingNetwork(z_dim=z_dim, w_dim=z_dim, label_size=label_size)
        self.truncation = Truncation(z_dim)
        self.synthesis = SynthesisNetwork(w_dim=z_dim, resolution=resolution)

    def forward(self, z: torch.Tensor, label: torch.Tensor, trunc_psi: float = 1.0) -> torch.Tensor:
        w = self.mapping(z, label)
        if self.training and self.w_moving_decay < 1:
            # As in the original: no detach(). With autograd on, the buffer takes this call's graph as its
            # history, and the next call's update builds on it, so every call's graph stays reachable.
            batch_w_avg = w.mean(dim=0)
            self.truncation.w_avg.copy_(
                self.truncation.w_avg * self.w_moving_decay + batch_w_avg * (1 - self.w_moving_decay)
            )
        return self.synthesis(self.truncation(w, trunc_psi))
