"""The scripted expert behind the Policy contract (closed loop: chunks of one action)."""

from __future__ import annotations

import numpy as np

from vla_core.observation import Observation
from vla_core.plans import Plan


class ExpertPolicy:
    """Privileged demonstrator; it needs plans that carry a structured subtask (oracle planner)."""

    def __init__(self, env):
        if env.name == "kitchen_r":
            from sim.experts.kitchen_r import KitchenRExpert as Expert
        elif env.name == "libero":
            from sim.experts.libero import LiberoExpert as Expert
        elif env.name == "calvin":
            from sim.experts.calvin import CalvinExpert as Expert
        else:
            raise ValueError(f"no scripted expert for bench {env.name!r}")
        self.env = env
        self.action_dim = env.action_dim
        self.expert = Expert(env)

    def reset(self) -> None:
        self.expert.reset()

    def can_take_over(self, subtask) -> bool:
        """Whether ``take_over`` can continue ``subtask`` from the current state (not mid-grasp)."""
        return self.expert.can_take_over(subtask)

    def take_over(self, subtask) -> None:
        """Continue ``subtask`` from the current simulator state (a hand-over from another policy)."""
        steps = list(self.env.ground_truth_plan())
        i = steps.index(subtask) if subtask in steps else 0
        self.expert.take_over(subtask, steps[i - 1].kind if i > 0 else None)

    @property
    def in_free_space(self) -> bool:
        """The last action reached through free space (collection noise may be larger there)."""
        return self.expert.in_free_space

    def sample(self, obs: Observation, plan: Plan, n: int = 1, guide=None) -> np.ndarray:
        if getattr(plan, "subtask", None) is None:
            raise ValueError("the expert policy needs a plan with a structured subtask (use --planner oracle)")
        a = self.expert.act(plan.subtask)
        return np.broadcast_to(a, (n, 1, a.shape[0])).copy()
