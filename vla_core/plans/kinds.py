"""The three plan kinds a planner can emit (DESIGN §3). Every kind renders to text
(for the text encoder) and to a fixed-size tensor."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vla_core.plans.subtask import Subtask


@dataclass(frozen=True)
class LanguageMotion:
    """RT-H-style motion from a closed grammar, e.g. 'move arm forward and close gripper'."""

    text: str
    subtask: Subtask | None = None

    def to_text(self) -> str:
        return self.text


@dataclass(frozen=True)
class Instruction:
    """A free, fine-grained sentence about the next sub-step (SteerVLA-style)."""

    text: str
    subtask: Subtask | None = None

    def to_text(self) -> str:
        return self.text


@dataclass(frozen=True)
class Path3D:
    """End-effector waypoints ``(N, 4)`` = xyz + gripper in ``frame`` (GeneralVLA-style)."""

    waypoints: np.ndarray
    frame: str = "base"
    subtask: Subtask | None = None

    def __post_init__(self) -> None:
        w = np.asarray(self.waypoints, dtype=np.float32)
        if w.ndim != 2 or w.shape[1] != 4 or len(w) == 0:
            raise ValueError(f"Path3D waypoints must be (N, 4), got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("Path3D waypoints contain NaN or inf")
        object.__setattr__(self, "waypoints", w)

    def to_text(self) -> str:
        pts = "; ".join(" ".join(f"{v:.2f}" for v in p) for p in self.waypoints)
        return f"path in {self.frame} frame: {pts}"

    def to_tensor(self, n: int = 8) -> np.ndarray:
        """(n, 4) resampled by arc length, so paths of any length share one shape."""
        w = self.waypoints
        if len(w) == 1:
            return np.repeat(w, n, axis=0)
        seg = np.linalg.norm(np.diff(w[:, :3], axis=0), axis=1)
        s = np.concatenate([[0.0], np.cumsum(seg)])
        t = np.linspace(0.0, s[-1], n) if s[-1] > 0 else np.zeros(n)
        return np.stack([np.interp(t, s, w[:, k]) for k in range(4)], axis=1).astype(np.float32)


Plan = LanguageMotion | Instruction | Path3D
