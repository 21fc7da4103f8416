"""OraclePlanner: the ground-truth plan from privileged simulator state.

Works with any env exposing ``ground_truth_plan() -> list[Subtask]`` and
``subtask_done(Subtask) -> bool`` (computed from simulator state). Used for
policy-only evaluation, as the label source, and as the simulated corrector.
"""

from __future__ import annotations

from vla_core.observation import Observation
from vla_core.planners.base import PlanResult
from vla_core.plans import Instruction, Subtask


class OraclePlanner:
    def __init__(self, env):
        self.env = env
        self.steps: list[Subtask] = []
        self.index = 0

    def reset(self, task: str) -> None:
        self.steps = list(self.env.ground_truth_plan())
        self.index = 0

    def plan(self, obs: Observation) -> PlanResult | None:
        # advance past every subtask the simulator says is complete
        while self.index < len(self.steps) and self.env.subtask_done(self.steps[self.index]):
            self.index += 1
        if self.index >= len(self.steps):
            if self.env.success():
                return None
            # every subtask was done once but the goals do not hold (yet): keep the last one active
            step = self.steps[-1]
            return PlanResult(Instruction(step.text(), subtask=step), confidence=1.0)
        step = self.steps[self.index]
        return PlanResult(Instruction(step.text(), subtask=step), confidence=1.0)
