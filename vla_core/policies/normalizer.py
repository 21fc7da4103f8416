"""Per-dimension normalisation stored with a checkpoint (safetensors tensors, no pickle)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class RangeNormalizer(nn.Module):
    """Maps each dimension's [min, max] from the training data to [-1, 1] (actions, paths).
    A dimension that never varies maps to -1."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("lo", torch.zeros(dim))
        self.register_buffer("hi", torch.ones(dim))

    def fit(self, x: np.ndarray) -> "RangeNormalizer":
        """``x`` (N, dim)."""
        x = np.asarray(x, dtype=np.float32).reshape(-1, self.lo.shape[0])
        lo, hi = x.min(0), x.max(0)
        flat = hi - lo < 1e-6
        hi = np.where(flat, lo + 2.0, hi)  # a constant dimension maps to -1 and stays finite
        self.lo.copy_(torch.as_tensor(lo))
        self.hi.copy_(torch.as_tensor(hi))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2.0 * (x - self.lo) / (self.hi - self.lo) - 1.0

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return (y + 1.0) / 2.0 * (self.hi - self.lo) + self.lo


class StdNormalizer(nn.Module):
    """Zero mean, unit variance per dimension (proprio)."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, x: np.ndarray) -> "StdNormalizer":
        x = np.asarray(x, dtype=np.float32).reshape(-1, self.mean.shape[0])
        self.mean.copy_(torch.as_tensor(x.mean(0)))
        self.std.copy_(torch.as_tensor(np.maximum(x.std(0), 1e-3)))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std
