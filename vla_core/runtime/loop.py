"""The one runtime loop: observe → (re)plan → sample a chunk → execute → record.

Sim evaluation, ROS 2 nodes and the policy server all drive this loop; none
re-implements it. Success always comes from ``env.success()`` (simulator state).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vla_core.observation import Observation
from vla_core.planners.base import Planner, PlanResult
from vla_core.policies.base import Policy


REPLAN = ("chunk", "subtask", "correction")


@dataclass
class LoopConfig:
    n_exec: int = 8  # actions executed from each chunk before the next one is sampled (receding horizon)
    max_steps: int | None = None  # None: the task's own budget
    # when the planner is asked again: before every chunk; when the plan's subtask is done (simulator
    # state, where the env can tell; every chunk for plans without one) or a correction asks; only
    # when a correction asks (``RuntimeLoop.request_replan``)
    replan: str = "chunk"

    def __post_init__(self) -> None:
        if self.n_exec < 1:
            raise ValueError(f"n_exec must be at least 1, got {self.n_exec}")
        if self.replan not in REPLAN:
            raise ValueError(f"replan must be one of {REPLAN}, got {self.replan!r}")
        if self.max_steps is not None and self.max_steps < 0:
            raise ValueError(f"max_steps must be >= 0, got {self.max_steps}")


@dataclass
class StepEvent:
    """What ``on_step`` hooks see after each executed action."""

    t: int
    obs: Observation  # after the action
    action: np.ndarray  # (D,)
    plan: PlanResult
    prev_obs: Observation  # the one the action was applied to (what a dataset pairs with it)


@dataclass
class Outcome:
    success: bool
    length: int
    goals_met: int
    goals_total: int
    wall_time_s: float


class RuntimeLoop:
    def __init__(self, env, planner: Planner, policy: Policy, config: LoopConfig | None = None,
                 on_step: Callable[[StepEvent], None] | None = None):
        self.env, self.planner, self.policy = env, planner, policy
        self.config = config or LoopConfig()
        self.on_step = on_step
        self._replan = False

    def request_replan(self) -> None:
        """Ask the planner again before the next chunk (a correction arrived); any cadence."""
        self._replan = True

    def _needs_plan(self, result: PlanResult | None) -> bool:
        if result is None or self._replan or self.config.replan == "chunk":
            return True
        if self.config.replan == "correction":
            return False
        subtask = getattr(result.plan, "subtask", None)
        done = getattr(self.env, "subtask_done", None)
        return subtask is None or done is None or bool(done(subtask))

    def run_episode(self, seed: int, task) -> Outcome:
        start = time.perf_counter()
        env = self.env
        obs = env.reset(seed, task)
        self.planner.reset(obs.task)
        self.policy.reset()
        budget = env.task.max_steps if self.config.max_steps is None else self.config.max_steps
        violations = getattr(env, "violations", None)  # what fails an episode for good (a perturbed split's collision)
        t = 0
        success = env.success()
        result: PlanResult | None = None
        self._replan = False
        failed = False
        while t < budget and not success and not failed:
            if self._needs_plan(result):
                self._replan = False
                result = self.planner.plan(obs)
                if result is None:  # the planner thinks it is done; the simulator decides
                    break
                if hasattr(self.policy, "use_program"):  # a steered policy follows the plan's reward program
                    self.policy.use_program(result.program)
            chunk = self.policy.sample(obs, result.plan, n=1)[0]
            for action in chunk[: self.config.n_exec]:
                prev, obs = obs, env.step(action)
                t += 1
                if self.on_step is not None:
                    self.on_step(StepEvent(t, obs, np.asarray(action), result, prev))
                success = env.success()
                failed = violations is not None and bool(violations())
                if success or failed or t >= budget:
                    break
        met = env.goals_met()
        return Outcome(bool(success), t, int(sum(met)), len(met), time.perf_counter() - start)
