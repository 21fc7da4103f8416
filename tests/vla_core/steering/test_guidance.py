"""Guidance on toy 2-D Gaussians where the denoisers are exact: the reward gradient moves samples
out of a keep-out disc for both samplers; resampling keeps the batch and favours high reward."""

import math

import pytest
import torch

from vla_core.policies.samplers import DiffusionSampler, FlowSampler
from vla_core.steering.guidance import Guidance, GuidanceConfig

SIGMA, RADIUS = 0.3, 0.4  # data N(0, σ² I) in 2-D; keep out of the disc |x| < RADIUS


def keep_out(x0: torch.Tensor) -> torch.Tensor:
    d = x0.flatten(1).norm(dim=1)
    return -0.05 * torch.nn.functional.softplus((RADIUS - d) / 0.05)


def flow_denoiser(x, level):
    s = (1 - level)[:, None, None]
    x1 = s * SIGMA**2 * x / (s**2 * SIGMA**2 + (1 - s) ** 2)  # E[data | x_s]
    return (x1 - x) / (1 - s)


def inside(x):
    return float((x.flatten(1).norm(dim=1) < RADIUS).float().mean())


def test_flow_guidance_moves_samples_out_of_the_disc():
    sampler = FlowSampler(infer_steps=20)
    g = torch.Generator().manual_seed(0)
    plain = sampler.sample(flow_denoiser, (512, 1, 2), generator=g)
    assert abs(inside(plain) - (1 - math.exp(-RADIUS**2 / (2 * SIGMA**2)))) < 0.08  # the analytic 59 %
    guide = Guidance(keep_out, "flow", GuidanceConfig(scale=1.0, late=1.0, resample=False))
    steered = sampler.sample(flow_denoiser, (512, 1, 2), generator=torch.Generator().manual_seed(0), guide=guide)
    assert inside(steered) < inside(plain) / 4


def test_diffusion_guidance_moves_samples_out_of_the_disc():
    sampler = DiffusionSampler(train_timesteps=100, infer_steps=20)
    alphas = sampler.infer_sched.alphas_cumprod

    def eps(x, level):
        a = alphas[(level * 100).round().long().clamp(max=99)][:, None, None].to(x)
        return (1 - a).sqrt() * x / (a * SIGMA**2 + 1 - a)  # E[ε | x_t]

    plain = sampler.sample(eps, (512, 1, 2), generator=torch.Generator().manual_seed(0))
    # late steps only: at high noise ᾱ → 0 and an ε correction blows x̂₀ up (then clipped)
    guide = Guidance(keep_out, "diffusion", GuidanceConfig(scale=3.0, late=0.5, resample=False),
                     alphas_cumprod=alphas, train_timesteps=100)
    steered = sampler.sample(eps, (512, 1, 2), generator=torch.Generator().manual_seed(0), guide=guide)
    assert inside(plain) > 0.4 and inside(steered) < inside(plain) / 4


def test_resampling_keeps_the_batch_and_copies_high_reward_particles():
    guide = Guidance(lambda x: x.flatten(1)[:, 0], "flow", GuidanceConfig(resample_lambda=50.0),
                     generator=torch.Generator().manual_seed(0))
    x = torch.linspace(-1, 1, 16)[:, None, None].expand(16, 1, 2).clone()
    guide.last = guide.reward(x)
    out = guide.after_step(x)
    assert out.shape == x.shape and guide.resamples == 1
    assert out[:, 0, 0].mean() > 0.8  # the low-reward particles were replaced
    flat = Guidance(lambda x: torch.zeros(x.shape[0]), "flow", GuidanceConfig())
    flat.last = torch.zeros(16)
    assert torch.equal(flat.after_step(x), x) and flat.resamples == 0  # ESS = N: nothing to do
    assert guide.best(x) == 15


def test_ablations_switch_pieces_off():
    x0 = torch.randn(8, 1, 2)
    pred = torch.randn(8, 1, 2)
    level = torch.full((8,), 0.3)
    assert torch.equal(Guidance(keep_out, "flow", GuidanceConfig(gradient=False))(x0, pred, level, x0), pred)
    early = torch.full((8,), 0.9)
    assert torch.equal(Guidance(keep_out, "flow", GuidanceConfig(diversity=0.0))(x0, pred, early, x0), pred)
    moved = Guidance(keep_out, "flow", GuidanceConfig(diversity=1.0))(x0, pred, early, x0)
    assert not torch.equal(moved, pred)  # repulsion acts in early steps
    with pytest.raises(ValueError, match="particles"):
        GuidanceConfig(particles=0)
    with pytest.raises(ValueError, match="alphas_cumprod"):
        Guidance(keep_out, "diffusion")
