"""The one conditional denoiser both samplers share: a 1D temporal U-Net over the action
chunk with FiLM conditioning (after diffusion_policy's ConditionalUnet1D).

Input ``x`` (B, H, D) noisy normalised actions, ``t`` (B,) noise level in [0, 1]
(diffusion passes timestep / num_train_timesteps, flow its time), ``cond`` (B, C).
Output (B, H, D): ε for diffusion, velocity for flow.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalEmbedding(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` (B,) in [0, 1] → (B, dim)."""
        half = self.dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / max(half - 1, 1))
        a = (t.float() * 1000.0)[:, None] * freqs[None]
        return torch.cat([a.sin(), a.cos()], dim=-1)


class ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 5, groups: int = 8):
        super().__init__(nn.Conv1d(cin, cout, k, padding=k // 2), nn.GroupNorm(groups, cout), nn.Mish())


class FiLMResBlock(nn.Module):
    """Two conv blocks; the condition sets a per-channel scale and bias between them."""

    def __init__(self, cin: int, cout: int, cond_dim: int):
        super().__init__()
        self.b1, self.b2 = ConvBlock(cin, cout), ConvBlock(cout, cout)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * cout))
        self.skip = nn.Conv1d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.b1(x)
        scale, bias = self.film(cond).unsqueeze(-1).chunk(2, dim=1)
        h = self.b2(h * (1 + scale) + bias)
        return h + self.skip(x)


class ConditionalUnet1D(nn.Module):
    def __init__(self, action_dim: int, cond_dim: int, dims: tuple[int, ...] = (128, 256), t_dim: int = 64):
        super().__init__()
        self.t_emb = nn.Sequential(SinusoidalEmbedding(t_dim), nn.Linear(t_dim, 4 * t_dim), nn.Mish(),
                                   nn.Linear(4 * t_dim, t_dim))
        c = cond_dim + t_dim
        chans = (action_dim, *dims)
        self.down = nn.ModuleList()
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            last = i == len(dims) - 1
            self.down.append(nn.ModuleList([FiLMResBlock(a, b, c), FiLMResBlock(b, b, c),
                                            nn.Identity() if last else nn.Conv1d(b, b, 3, 2, 1)]))
        self.mid = nn.ModuleList([FiLMResBlock(dims[-1], dims[-1], c), FiLMResBlock(dims[-1], dims[-1], c)])
        self.up = nn.ModuleList()
        for i, (a, b) in enumerate(zip(reversed(dims[1:]), reversed(dims[:-1]))):
            self.up.append(nn.ModuleList([FiLMResBlock(2 * a, b, c), FiLMResBlock(b, b, c),
                                          nn.ConvTranspose1d(b, b, 4, 2, 1)]))
        self.out = nn.Sequential(ConvBlock(dims[0], dims[0]), nn.Conv1d(dims[0], action_dim, 1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        c = torch.cat([cond, self.t_emb(t)], dim=-1)
        h = x.transpose(1, 2)  # (B, D, H)
        skips = []
        for r1, r2, down in self.down:
            h = r2(r1(h, c), c)
            skips.append(h)
            h = down(h)
        for r in self.mid:
            h = r(h, c)
        for r1, r2, up in self.up:
            h = torch.cat([h, skips.pop()], dim=1)
            h = up(r2(r1(h, c), c))
        return self.out(h).transpose(1, 2)
