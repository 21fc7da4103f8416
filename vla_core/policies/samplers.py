"""Two samplers over the one denoiser: DDPM-trained diffusion (DDPM/DDIM inference with
diffusers schedulers) and flow matching (Euler/Heun). Both work on normalised chunks
``(B, H, D)`` and pass the denoiser a noise level in [0, 1] (1 = pure noise).

``x_init`` (optional) replaces the initial noise draw. ``guide`` (optional) is the
inference-time steering hook: called as ``guide(x, pred, level, x0_hat)`` at every step,
it returns a corrected prediction (ε for diffusion, velocity for flow); a guide with an
``after_step(x)`` method may also reorder the batch after each step (particle resampling).
``vla_core/steering/guidance.py`` implements it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import DDIMScheduler, DDPMScheduler

Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x, level (B,)) -> prediction


def _on(generator: torch.Generator | None, device: torch.device) -> torch.device:
    """Draw where the generator lives (a seeded CPU generator gives the same numbers for a
    CUDA model), then move: the ``.to(device)`` after each draw below."""
    return generator.device if generator is not None else device


def _initial(shape, generator, device, x_init: torch.Tensor | None) -> torch.Tensor:
    """The starting noise: ``x_init`` when given (e.g. zeros for a deterministic sample), else a draw."""
    if x_init is not None:
        if tuple(x_init.shape) != tuple(shape):
            raise ValueError(f"x_init has shape {tuple(x_init.shape)}, expected {tuple(shape)}")
        return x_init.to(device)
    return torch.randn(shape, generator=generator, device=_on(generator, torch.device(device))).to(device)


class DiffusionSampler:
    kind = "diffusion"
    samplers = ("ddim", "ddpm")

    def __init__(self, train_timesteps: int = 100, infer_steps: int = 10, sampler: str = "ddim"):
        if sampler not in self.samplers:
            raise ValueError(f"diffusion sampler must be one of {self.samplers}, got {sampler!r}")
        self.train_timesteps, self.infer_steps, self.sampler = train_timesteps, infer_steps, sampler
        cfg = dict(num_train_timesteps=train_timesteps, beta_schedule="squaredcos_cap_v2", clip_sample=True,
                   prediction_type="epsilon")
        self.train_sched = DDPMScheduler(**cfg)
        self.infer_sched = DDIMScheduler(**cfg) if sampler == "ddim" else DDPMScheduler(**cfg)

    def loss(self, denoise: Denoise, x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-sample ε-prediction MSE, (B,)."""
        b = x0.shape[0]
        g_dev = _on(generator, x0.device)
        noise = torch.randn(x0.shape, generator=generator, device=g_dev).to(x0.device)
        t = torch.randint(0, self.train_timesteps, (b,), generator=generator, device=g_dev).to(x0.device)
        xt = self.train_sched.add_noise(x0, noise, t)
        pred = denoise(xt, t.float() / self.train_timesteps)
        return ((pred - noise) ** 2).flatten(1).mean(1)

    @torch.no_grad()
    def sample(self, denoise: Denoise, shape: tuple[int, ...], generator: torch.Generator | None = None,
               steps: int | None = None, guide=None, device: torch.device | str = "cpu",
               x_init: torch.Tensor | None = None) -> torch.Tensor:
        sched = self.infer_sched
        sched.set_timesteps(steps or self.infer_steps)
        x = _initial(shape, generator, device, x_init)
        alphas = sched.alphas_cumprod
        for t in sched.timesteps:
            level = torch.full((shape[0],), float(t) / self.train_timesteps, device=x.device)
            eps = denoise(x, level)
            if guide is not None:
                a = alphas[int(t)]
                x0_hat = (x - (1 - a).sqrt() * eps) / a.sqrt()
                eps = guide(x, eps, level, x0_hat)
            x = sched.step(eps, t, x, generator=generator).prev_sample
            if guide is not None and hasattr(guide, "after_step"):
                x = guide.after_step(x)
        return x


class FlowSampler:
    """Rectified flow: x_s = s·data + (1−s)·noise, velocity target data − noise; the
    denoiser is told the noise level 1−s."""

    kind = "flow"
    samplers = ("euler", "heun")

    def __init__(self, infer_steps: int = 10, sampler: str = "euler", **_):
        if sampler not in self.samplers:
            raise ValueError(f"flow sampler must be one of {self.samplers}, got {sampler!r}")
        self.infer_steps, self.sampler = infer_steps, sampler

    def loss(self, denoise: Denoise, x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        b = x0.shape[0]
        g_dev = _on(generator, x0.device)
        noise = torch.randn(x0.shape, generator=generator, device=g_dev).to(x0.device)
        s = torch.rand((b,), generator=generator, device=g_dev).to(x0.device)
        xs = s[:, None, None] * x0 + (1 - s[:, None, None]) * noise
        pred = denoise(xs, 1 - s)
        return ((pred - (x0 - noise)) ** 2).flatten(1).mean(1)

    @torch.no_grad()
    def sample(self, denoise: Denoise, shape: tuple[int, ...], generator: torch.Generator | None = None,
               steps: int | None = None, guide=None, device: torch.device | str = "cpu",
               x_init: torch.Tensor | None = None) -> torch.Tensor:
        n = steps or self.infer_steps
        x = _initial(shape, generator, device, x_init)
        dt = 1.0 / n

        def velocity(x: torch.Tensor, s: float) -> torch.Tensor:
            level = torch.full((shape[0],), 1.0 - s, device=x.device)
            v = denoise(x, level)
            if guide is not None:
                v = guide(x, v, level, x + (1.0 - s) * v)
            return v

        for i in range(n):
            s = i * dt
            v = velocity(x, s)
            if self.sampler == "heun" and i < n - 1:
                v = 0.5 * (v + velocity(x + dt * v, s + dt))
            x = x + dt * v
            if guide is not None and hasattr(guide, "after_step"):
                x = guide.after_step(x)
        return x


SAMPLERS = {"diffusion": DiffusionSampler.samplers, "flow": FlowSampler.samplers}


def make_sampler(kind: str, **kw) -> DiffusionSampler | FlowSampler:
    if kind == "diffusion":
        return DiffusionSampler(**kw)
    if kind == "flow":
        kw.pop("train_timesteps", None)
        return FlowSampler(**kw)
    raise ValueError(f"unknown policy kind {kind!r}; expected diffusion or flow")
