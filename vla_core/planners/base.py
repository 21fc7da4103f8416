"""The planner contract: observation (+ task) → the next Plan, with a confidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vla_core.observation import Observation
from vla_core.plans import Plan


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    confidence: float  # in [0, 1]
    abstain_reason: str | None = None  # set when the planner would rather ask for help
    program: dict | None = None  # a VLS reward-program spec (vla_core.steering.programs) for steered policies


class Planner(Protocol):
    def reset(self, task: str) -> None: ...

    def plan(self, obs: Observation) -> PlanResult | None:
        """The plan for the next chunk; None when the planner believes the task is done."""
        ...
