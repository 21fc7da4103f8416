"""One guidance module for both samplers (VLS): reward gradients on the predicted clean chunk,
a progress gate, particle diversity and Feynman–Kac resampling.

The samplers call ``guide(x, pred, level, x0_hat)`` at every denoising step (level 1 = pure
noise … 0 = clean) and ``guide.after_step(x)`` after it. With ĝ = ∇R(x̂₀)/‖∇R(x̂₀)‖ for the
reward R (higher is better) and gate w:

  diffusion  ε̂ ← ε̂ − s·w·sqrt(1−ᾱ_t)·ĝ      flow  v ← v + s·w·ĝ

(lowering ε̂ / raising v along ĝ moves the predicted clean chunk up the reward), only at late
steps (level ≤ ``late``). w = 1/(1+exp(k(r̂ − r₀))) fades guidance out once the particle's
reward r̂ is already high (k = 0: w = 1). Early steps (level > ``late``) push particles apart
(an RBF repulsion on x̂₀) for diversity. After each step, particles are resampled in
proportion to exp(λ·max(r, r_prev)) when the effective sample size falls under N/2. Every
piece can be switched off (``GuidanceConfig``) for ablations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

Reward = Callable[[torch.Tensor], torch.Tensor]  # normalised clean chunks (B, H, D) -> (B,) reward


@dataclass
class GuidanceConfig:
    scale: float = 1.0  # s: step size of the gradient correction (in normalised units per step)
    late: float = 0.6  # guide at levels ≤ this; repel above it
    gate_k: float = 0.0  # progress gate steepness (0: no gate)
    gate_r0: float = 0.0  # reward at which the gate is half open
    particles: int = 16  # N samples per chunk, one batch
    gradient: bool = True  # ablation: no-grad
    diversity: float = 0.0  # repulsion strength in early steps (0: none); ablation: no-diversity
    resample: bool = True  # Feynman–Kac resampling; ablation: no-resample
    resample_lambda: float = 10.0  # λ of the resampling weights
    bandwidth: float = 1.0  # RBF bandwidth of the repulsion (normalised units)

    def __post_init__(self) -> None:
        if self.particles < 1:
            raise ValueError(f"particles must be ≥ 1, got {self.particles}")
        if not 0.0 <= self.late <= 1.0:
            raise ValueError(f"late must be in [0, 1], got {self.late}")
        for k in ("scale", "gate_k", "diversity", "resample_lambda"):
            if getattr(self, k) < 0:
                raise ValueError(f"{k} must be ≥ 0, got {getattr(self, k)}")
        if self.bandwidth <= 0:
            raise ValueError(f"bandwidth must be > 0, got {self.bandwidth}")

    def to_dict(self) -> dict:
        return asdict(self)


class Guidance:
    def __init__(self, reward: Reward, kind: str, cfg: GuidanceConfig | None = None,
                 alphas_cumprod: torch.Tensor | None = None, train_timesteps: int | None = None,
                 generator: torch.Generator | None = None):
        """``kind``: diffusion (needs the scheduler's ``alphas_cumprod`` and ``train_timesteps``) or flow."""
        if kind not in ("diffusion", "flow"):
            raise ValueError(f"kind must be diffusion or flow, got {kind!r}")
        if kind == "diffusion" and (alphas_cumprod is None or not train_timesteps):
            raise ValueError("diffusion guidance needs the scheduler's alphas_cumprod and train_timesteps")
        self.reward, self.kind, self.cfg = reward, kind, cfg or GuidanceConfig()
        self.alphas, self.T, self.generator = alphas_cumprod, train_timesteps, generator
        self.last: torch.Tensor | None = None  # (B,) rewards of the latest x̂₀
        self.prev: torch.Tensor | None = None  # (B,) the running max(r, r_prev) the weights use
        self.resamples = 0

    def reset(self) -> None:
        self.last = self.prev = None
        self.resamples = 0

    def _grad(self, x0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            z = x0.detach().requires_grad_(True)
            r = self.reward(z)
            (g,) = torch.autograd.grad(r.sum(), z)
        return r.detach(), g

    def _repel(self, x0: torch.Tensor) -> torch.Tensor:
        """−∇ of Σ_ij exp(−‖x̂ᵢ − x̂ⱼ‖²/h²): pushes particles apart, (B, H, D)."""
        if x0.shape[0] < 2:
            return torch.zeros_like(x0)
        with torch.enable_grad():
            z = x0.detach().requires_grad_(True)
            flat = z.flatten(1)
            k = torch.exp(-torch.cdist(flat, flat).pow(2) / (self.cfg.bandwidth ** 2 * flat.shape[1]))
            (g,) = torch.autograd.grad(-k.sum(), z)
        return g

    def __call__(self, x: torch.Tensor, pred: torch.Tensor, level: torch.Tensor, x0_hat: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        lv = float(level[0])
        if lv > c.late:  # early: diversity only
            if c.diversity <= 0:
                return pred
            g = self._repel(x0_hat)
            g = c.diversity * g / g.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None]
        else:
            r, g = self._grad(x0_hat)
            self.last = r
            if not c.gradient:
                return pred
            g = g / g.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None]
            w = torch.ones_like(r) if c.gate_k == 0 else torch.sigmoid(-c.gate_k * (r - c.gate_r0))
            g = c.scale * w[:, None, None] * g
        if self.kind == "flow":
            return pred + g
        a = self.alphas[min(int(round(lv * self.T)), self.T - 1)].to(pred)
        return pred - (1 - a).sqrt() * g

    def after_step(self, x: torch.Tensor) -> torch.Tensor:
        """Feynman–Kac resampling of the particles (rows of x) by the latest rewards."""
        if not self.cfg.resample or self.last is None or x.shape[0] < 2:
            return x
        r = self.last if self.prev is None else torch.maximum(self.last, self.prev)
        logw = self.cfg.resample_lambda * (r - r.max())
        w = torch.exp(logw)
        w = w / w.sum()
        ess = 1.0 / (w * w).sum()
        self.prev = r
        if ess >= x.shape[0] / 2:
            return x
        idx = torch.multinomial(w.cpu(), x.shape[0], replacement=True, generator=self.generator).to(x.device)
        self.prev = r[idx]
        self.last = self.last[idx]
        self.resamples += 1
        return x[idx]

    def best(self, x: torch.Tensor, final_reward: torch.Tensor | None = None) -> int:
        """Index of the particle to execute: the highest reward of the final chunk."""
        r = final_reward if final_reward is not None else self.reward(x).detach()
        return int(torch.argmax(r))
