"""Run any LeRobot ``PreTrainedPolicy`` as our low-level policy.

The policy's own ``select_action`` keeps its observation history and action queue
(chunking, n_action_steps), so the adapter hands the loop one action at a time:
chunks of shape (1, 1, D). Observation → LeRobot batch:

- ``observation.state``            ← Proprio.vector() (18,)
- ``observation.environment_state`` ← keypoints (K, 3) flattened, unseen points 0
- ``observation.images.<cam>``     ← obs.rgb[cam] as (3, H, W) float in [0, 1]
- ``task``                          ← the plan's text (language-conditioned policies)

Only the keys the policy's config lists as input features are sent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vla_core.observation import Observation
from vla_core.plans import Plan


class LeRobotPolicyAdapter:
    def __init__(self, policy, preprocessor=None, postprocessor=None, action_dim: int | None = None):
        self.policy = policy.eval()
        self.pre, self.post = preprocessor, postprocessor
        out = policy.config.output_features.get("action")
        self.action_dim = int(action_dim or (out.shape[0] if out is not None else 10))
        self.inputs = dict(policy.config.input_features)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> "LeRobotPolicyAdapter":
        """A LeRobot policy folder (config.json + model.safetensors + processor files), local only."""
        from lerobot.configs.policies import PreTrainedConfig
        from lerobot.policies.factory import get_policy_class, make_pre_post_processors

        cfg = PreTrainedConfig.from_pretrained(str(path))
        policy = get_policy_class(cfg.type).from_pretrained(str(path))
        pre, post = make_pre_post_processors(cfg, pretrained_path=str(path))
        return cls(policy, pre, post)

    def reset(self) -> None:
        self.policy.reset()

    def batch(self, obs: Observation, plan: Plan) -> dict:
        b: dict = {}
        for key, feat in self.inputs.items():
            if key == "observation.state":
                x = obs.proprio.vector()
            elif key == "observation.environment_state":
                x = np.nan_to_num(obs.keypoints, nan=0.0).reshape(-1).astype(np.float32)
            elif key.startswith("observation.images."):
                cam = key.rsplit(".", 1)[1]
                if cam not in obs.rgb:
                    raise ValueError(f"the LeRobot policy needs camera {cam!r}; the env gives {sorted(obs.rgb)}")
                x = obs.rgb[cam].transpose(2, 0, 1).astype(np.float32) / 255.0
            else:
                raise ValueError(f"no mapping from our Observation to LeRobot input {key!r}")
            if tuple(x.shape) != tuple(feat.shape):
                raise ValueError(f"LeRobot input {key!r} expects shape {tuple(feat.shape)}, we have {x.shape}")
            b[key] = torch.as_tensor(x)[None]
        b["task"] = [plan.to_text()]
        return b

    def sample(self, obs: Observation, plan: Plan, n: int = 1, guide=None) -> np.ndarray:
        if guide is not None:
            raise NotImplementedError("steering needs our own samplers; LeRobot policies run unguided")
        if n != 1:
            raise ValueError("a LeRobot policy keeps its own action queue: sample one chunk at a time (n=1)")
        b = self.batch(obs, plan)
        if self.pre is not None:
            b = self.pre(b)
        with torch.no_grad():
            a = self.policy.select_action(b)
        if self.post is not None:
            a = self.post(a)
        a = torch.as_tensor(a).reshape(-1)[: self.action_dim].cpu().numpy().astype(np.float32)
        return a[None, None]
