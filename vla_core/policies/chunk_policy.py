"""ChunkPolicy: a trained diffusion/flow ChunkModel behind the Policy contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vla_core.observation import Observation
from vla_core.plans import Instruction, LanguageMotion, Plan
from vla_core.policies.checkpoint import load_checkpoint, torch_generator
from vla_core.policies.chunk_model import ChunkModel
from vla_core.policies.features import image_inputs, observation_inputs, plan_inputs
from vla_core.policies.grounding import ground, ground_landmark
from vla_core.policies.text import shared_encoder


class ChunkPolicy:
    """``sample(obs, plan, n)`` → (n, H, D) absolute EE-target chunks. Seeded: the same
    seed, observation history and plan give the same chunk. Keeps the observation of its
    previous call for the motion cue (action_space.motion_cue); ``reset`` forgets it.

    ``noise`` picks the initial noise of each call: "random" (a fresh draw; successive
    chunks may land in different modes, e.g. turn left then right), "fixed" (the same
    draw every call, so the chosen mode varies smoothly with the observation) or "zero"
    (the distribution's centre; deterministic)."""

    NOISE = ("random", "fixed", "zero")

    def __init__(self, model: ChunkModel, seed: int = 0, steps: int | None = None, sampler: str | None = None,
                 noise: str = "random"):
        if noise not in self.NOISE:
            raise ValueError(f"noise must be one of {self.NOISE}, got {noise!r}")
        self.noise = noise
        self.model = model.eval()
        if steps or sampler:
            self.model.set_sampler(sampler, steps)
        self.cfg = model.cfg
        self.action_dim = self.cfg.action_dim
        self.n_exec = self.cfg.n_exec
        self.seed = seed
        self.text = shared_encoder()
        self.generator = torch_generator(seed)
        self.episode_seed = seed
        self.prev: tuple[float, np.ndarray] | None = None  # (time, state) at the previous call
        self._targets: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # plan text -> (keypoint indices, landmark)

    @classmethod
    def load(cls, path: str | Path, seed: int = 0, steps: int | None = None, sampler: str | None = None,
             noise: str = "random"):
        model, _ = load_checkpoint(path)
        return cls(model, seed, steps, sampler, noise)

    def reset(self, seed: int | None = None) -> None:
        self.episode_seed = self.seed if seed is None else seed
        self.generator = torch_generator(self.episode_seed)
        self.prev = None

    def batch(self, obs: Observation, plan: Plan) -> dict[str, torch.Tensor]:
        ob = observation_inputs(obs, self.prev, self.cfg.keypoint_names)
        kind, emb, path = plan_inputs(plan, self.text, self.cfg.path_points)
        text = plan.text if isinstance(plan, (Instruction, LanguageMotion)) else ""
        if text not in self._targets:
            self._targets[text] = ground(text, self.cfg.keypoint_names), ground_landmark(text, self.cfg.landmarks)
        target, landmark = self._targets[text]
        b = {**{k: v[None] for k, v in ob.items()},
             "plan_kind": np.array([kind]), "plan_text": emb[None], "plan_path": path[None],
             "target": target[None], "landmark": landmark[None]}
        for cam in self.cfg.cameras:
            img = obs.rgb.get(cam)
            if img is None:
                raise ValueError(f"this policy needs RGB from camera {cam!r}; the env gives {sorted(obs.rgb)}")
            b[f"rgb.{cam}"] = image_inputs(img, self.cfg.image_size)[None]
        device = next(self.model.parameters()).device
        return {k: torch.as_tensor(v).to(device) for k, v in b.items()}

    def sample(self, obs: Observation, plan: Plan, n: int = 1, guide=None) -> np.ndarray:
        b = {k: v.expand(n, *v.shape[1:]) for k, v in self.batch(obs, plan).items()}
        self.prev = (obs.time, obs.proprio.vector())
        if self.noise == "fixed":
            self.generator.manual_seed(self.episode_seed)
        with torch.no_grad():
            return self.model.predict(b, self.generator, guide=guide, zero_noise=self.noise == "zero").cpu().numpy()
