"""Learner roll-in, expert hand-over: demonstrations that start where a learned policy goes wrong.

Behaviour cloning drifts into states no demonstration visited and has no data to come back from
(Ross et al., DAgger, 2011). DAgger labels the learner's own states with the expert's action; our
scripted expert is a phase machine that cannot label one state on its own, so the learner drives
the first ``handover_at`` steps of an episode (drawn per episode) and the expert takes over from
wherever that left the robot and finishes the task, as a human expert does in HG-DAgger (Kelly et
al., 2019). Only the expert's part is recorded (``expert_active``): the learner's own actions are
never training labels.
"""

from __future__ import annotations

import numpy as np

from vla_core.observation import Observation
from vla_core.plans import Plan


class HandoverPolicy:
    """The Policy contract over a learner and the scripted expert (``sim.experts.policy.ExpertPolicy``).

    Set ``handover_at`` (steps) before each episode; 0 is a plain expert episode. The switch happens at
    the first chunk the loop asks for at or after that step (a learner's chunk is not cut) where the expert
    can continue the subtask (``can_take_over``: not in the middle of the learner's grasp); ``handed_at`` is
    the step it happened at."""

    def __init__(self, learner, expert, dt: float):
        self.learner, self.expert, self.dt = learner, expert, float(dt)
        self.action_dim = expert.action_dim
        self.n_exec = getattr(learner, "n_exec", 1)  # the loop executes this many of a learner's chunk
        self.handover_at = 0
        self.expert_active = True
        self.handed_at: int | None = 0

    def reset(self) -> None:
        self.learner.reset()
        self.expert.reset()
        self.expert_active = self.handover_at <= 0
        self.handed_at = 0 if self.expert_active else None

    @property
    def in_free_space(self) -> bool:
        """Collection noise reads this; the learner's reach counts as free space only once the expert has it."""
        return self.expert_active and self.expert.in_free_space

    def sample(self, obs: Observation, plan: Plan, n: int = 1, guide=None) -> np.ndarray:
        step = round(obs.time / self.dt)
        if not self.expert_active and step >= self.handover_at:
            subtask = getattr(plan, "subtask", None)
            if subtask is None:
                raise ValueError("a hand-over needs a plan with a structured subtask (the oracle planner)")
            if self.expert.can_take_over(subtask):
                self.expert.take_over(subtask)
                self.expert_active, self.handed_at = True, step
        if self.expert_active:
            return self.expert.sample(obs, plan, n)
        return self.learner.sample(obs, plan, n)
