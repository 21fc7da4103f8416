"""SteeredPolicy: a frozen chunk policy steered at inference time by a reward program (VLS).

Same Policy contract as ``ChunkPolicy``. Per call it samples ``particles`` chunks in one batch
with ``Guidance`` hooked into the policy's own sampler (diffusion or flow), scores the final
chunks with the program and returns the best. Stages advance on gripper events (the stage's
``until: {gripper: closed|open}``) or when the stage's reward, a progress measure, passes
``until: {progress: x}`` (as exp(reward) ∈ (0, 1], a Schmitt trigger with ``hysteresis``).
Without a program it is the plain policy.
"""

from __future__ import annotations

import numpy as np
import torch

from vla_core.observation import Observation
from vla_core.plans import Plan
from vla_core.plans.motion import MotionThresholds
from vla_core.policies.action_space import ee_layout, from_model
from vla_core.steering.guidance import Guidance, GuidanceConfig
from vla_core.steering.programs import RewardProgram, parse_program

OPEN_WIDTH = MotionThresholds.gripper_open_width  # m: fingers wider than this are open (gripper events)


class SteeredPolicy:
    def __init__(self, policy, program: RewardProgram | None = None, cfg: GuidanceConfig | None = None,
                 hysteresis: float = 0.05):
        self.policy, self.program, self.cfg, self.hysteresis = policy, program, cfg or GuidanceConfig(), hysteresis
        self.n_exec, self.action_dim = policy.n_exec, policy.action_dim
        self.stage = 0
        self.last_guidance: Guidance | None = None  # diagnostics: resamples, rewards

    def reset(self, seed: int | None = None) -> None:
        self.policy.reset(seed)
        self.stage = 0

    def set_program(self, program: RewardProgram | None) -> None:
        self.program, self.stage = program, 0

    def use_program(self, spec: dict | None) -> None:
        """The program a plan carries (a spec, validated here; ``ProgramError`` if bad). Planners
        rewrite it every chunk with fresh base-frame numbers: the same program (name and stage
        count) keeps its stage, another starts at its first."""
        program = None if spec is None else parse_program(spec)
        same = (program is not None and self.program is not None and program.name == self.program.name
                and len(program.stages) == len(self.program.stages))
        self.program, self.stage = program, self.stage if same else 0

    def _advance(self, obs: Observation, progress: float | None) -> None:
        st = self.program.stages[self.stage]
        if st.until is None or self.stage + 1 >= len(self.program.stages):
            return
        if "gripper" in st.until:
            closed = obs.proprio.gripper < OPEN_WIDTH
            if closed == (st.until["gripper"] == "closed"):
                self.stage += 1
        elif progress is not None and progress >= st.until["progress"] + self.hysteresis:
            self.stage += 1

    def _reward_fn(self, obs: Observation):
        """(normalised, absolute): the program's reward of normalised model-space chunks (what the
        guidance differentiates) and of absolute action chunks, both (P, H, D) → (P,)."""
        model = self.policy.model
        names = list(obs.keypoint_names)
        kp = {k: torch.as_tensor(obs.keypoints[names.index(k)], dtype=torch.float32)
              for k in self.program.keypoints if k in names and np.all(np.isfinite(obs.keypoints[names.index(k)]))}
        xyz, _ = ee_layout(model.cfg.action_dim)
        stage = self.stage
        device = next(model.parameters()).device
        state = torch.as_tensor(obs.proprio.vector(), dtype=torch.float32, device=device)[None]  # broadcasts over P

        def absolute(a: torch.Tensor) -> torch.Tensor:
            return self.program.reward(a[..., xyz], kp, a[..., -1], stage)

        def normalised(x0: torch.Tensor) -> torch.Tensor:
            return absolute(from_model(model.action_norm.inverse(x0), state))

        return normalised, absolute

    def sample(self, obs: Observation, plan: Plan, n: int = 1, guide=None) -> np.ndarray:
        if self.program is None:
            return self.policy.sample(obs, plan, n, guide)
        model = self.policy.model
        normalised, absolute = self._reward_fn(obs)
        sched = getattr(model.sampler, "infer_sched", None)
        g = Guidance(normalised, model.cfg.kind, self.cfg, alphas_cumprod=getattr(sched, "alphas_cumprod", None),
                     train_timesteps=model.cfg.train_timesteps, generator=self.policy.generator)
        # the policy's own sampling, P particles in one batch, with the guidance hooked in
        chunks = self.policy.sample(obs, plan, n=self.cfg.particles, guide=g)  # (P, H, D) absolute
        with torch.no_grad():
            r = absolute(torch.as_tensor(chunks))
        best = int(torch.argmax(r))
        self.last_guidance = g
        self._advance(obs, float(torch.exp(r[best].clamp(max=0.0))))
        return chunks[best][None].repeat(n, axis=0)
