"""The plan-conditioned action-chunk model: encoders + shared denoiser + a sampler.

Works on batches of tensors (training and inference alike); ``ChunkPolicy`` in
``chunk_policy.py`` adapts it to the Observation/Plan contract of the runtime loop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from vla_core.policies.action_space import MOTION_GROUPS, from_model, motion_mask, to_model
from vla_core.policies.denoiser import ConditionalUnet1D
from vla_core.policies.encoders import ObsPlanEncoder
from vla_core.policies.grounding import check_landmarks
from vla_core.policies.normalizer import RangeNormalizer
from vla_core.policies.samplers import make_sampler
from vla_core.policies.text import TEXT_DIM


@dataclass
class ChunkModelConfig:
    kind: str = "diffusion"  # diffusion | flow
    keypoint_names: list[str] = field(default_factory=list)
    horizon: int = 16  # H: actions per chunk
    n_exec: int = 8  # actions executed before the next chunk (receding horizon)
    action_dim: int = 10
    d_model: int = 128
    layers: int = 3
    heads: int = 4
    unet_dims: list[int] = field(default_factory=lambda: [128, 256])
    path_points: int = 8
    cameras: list[str] = field(default_factory=list)
    image_size: int = 96
    train_timesteps: int = 100
    infer_steps: int = 10
    sampler: str = "ddim"  # diffusion: ddim | ddpm; flow: euler | heun
    grounded: bool = False  # explicit features of the keypoints the plan names (policies.grounding)
    landmarks: dict[str, list[float]] = field(default_factory=dict)  # map poses plans name: world x, y, yaw
    # motion-cue groups the model sees (action_space.MOTION_GROUPS): base, ee, gripper
    motion_cue: list[str] = field(default_factory=lambda: list(MOTION_GROUPS))

    def __post_init__(self) -> None:
        if self.kind not in ("diffusion", "flow"):
            raise ValueError(f"kind must be diffusion or flow, got {self.kind!r}")
        if not 1 <= self.n_exec <= self.horizon:
            raise ValueError(f"n_exec must be in [1, horizon={self.horizon}], got {self.n_exec}")
        if self.action_dim not in (8, 10):
            raise ValueError(f"action_dim must be 10 (mobile) or 8 (arm), got {self.action_dim}")
        if self.horizon % 2:
            raise ValueError("horizon must be even (the U-Net halves it)")
        check_landmarks(self.landmarks)
        motion_mask(self.motion_cue)  # unknown groups fail here, not at the first forward

    def to_dict(self) -> dict:
        return asdict(self)


class ChunkModel(nn.Module):
    def __init__(self, cfg: ChunkModelConfig, keypoint_name_emb: torch.Tensor | None = None):
        super().__init__()
        self.cfg = cfg
        if keypoint_name_emb is None:  # filled from the checkpoint on load
            keypoint_name_emb = torch.zeros(len(cfg.keypoint_names), TEXT_DIM)
        self.encoder = ObsPlanEncoder(keypoint_name_emb, TEXT_DIM, cfg.d_model, cfg.layers, cfg.heads,
                                      cfg.path_points, tuple(cfg.cameras), cfg.grounded,
                                      tuple(cfg.motion_cue))
        self.denoiser = ConditionalUnet1D(cfg.action_dim, self.encoder.out_dim, tuple(cfg.unet_dims))
        self.action_norm = RangeNormalizer(cfg.action_dim)
        self.sampler = make_sampler(cfg.kind, train_timesteps=cfg.train_timesteps, infer_steps=cfg.infer_steps,
                                    sampler=cfg.sampler)

    def set_sampler(self, sampler: str | None = None, steps: int | None = None) -> None:
        """Swap the inference sampler/step count (weights unchanged)."""
        self.cfg.sampler = sampler or self.cfg.sampler
        self.cfg.infer_steps = steps or self.cfg.infer_steps
        self.sampler = make_sampler(self.cfg.kind, train_timesteps=self.cfg.train_timesteps,
                                    infer_steps=self.cfg.infer_steps, sampler=self.cfg.sampler)

    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """batch['action'] (B, H, D) absolute actions + the encoder's inputs → scalar loss. The
        denoiser sees them relative to batch['state'] (action_space.to_model)."""
        cond = self.encoder(batch)
        x0 = self.action_norm(to_model(batch["action"], batch["state"]))
        per = self.sampler.loss(lambda x, lv: self.denoiser(x, lv, cond), x0, generator)
        if "weight" in batch:
            return (per * batch["weight"]).sum() / batch["weight"].sum().clamp_min(1e-6)
        return per.mean()

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None,
                steps: int | None = None, guide=None, zero_noise: bool = False) -> torch.Tensor:
        """→ (B, H, D) absolute actions; unit quaternions, gripper in [0, 1]. ``zero_noise``
        starts the sampler at the noise distribution's centre (deterministic)."""
        cond = self.encoder(batch)
        shape = (cond.shape[0], self.cfg.horizon, self.cfg.action_dim)
        x_init = torch.zeros(shape, device=cond.device) if zero_noise else None
        x = self.sampler.sample(lambda x, lv: self.denoiser(x, lv, cond), shape,
                                generator, steps, guide, device=cond.device, x_init=x_init)
        a = from_model(self.action_norm.inverse(x), batch["state"])
        return torch.cat([a[..., :-1], a[..., -1:].clamp(0.0, 1.0)], dim=-1)
