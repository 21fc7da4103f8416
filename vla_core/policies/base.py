"""The low-level policy contract: observation + plan → action chunks."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from vla_core.observation import Observation
from vla_core.plans import Plan


class Policy(Protocol):
    action_dim: int

    def reset(self) -> None: ...

    def sample(self, obs: Observation, plan: Plan, n: int = 1, guide=None) -> np.ndarray:
        """``n`` candidate action chunks ``(n, H, D)``; the loop executes the first."""
        ...
