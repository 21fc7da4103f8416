"""Per-episode evaluation record, the unit every report is built from."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

# JSON-level types per field; checked in from_dict so a hand-edited or truncated
# report fails loudly instead of producing nonsense statistics.
_TYPES: dict[str, tuple[type, ...]] = {
    "task_id": (str,), "instruction": (str,), "category": (str,), "split": (str,),
    "seed": (int,), "success": (bool,), "length": (int,),
    "goals_met": (int,), "goals_total": (int,), "wall_time_s": (int, float),
    "video": (str, type(None)), "error": (str, type(None)), "plan_metrics": (dict, type(None)),
    "violations": (list,),
}


@dataclass
class EpisodeResult:
    task_id: str
    instruction: str
    category: str
    split: str
    seed: int
    success: bool
    length: int  # env steps
    goals_met: int
    goals_total: int
    wall_time_s: float
    video: str | None = None
    error: str | None = None  # exception text if the episode crashed (counts as failure)
    plan_metrics: dict | None = None  # --mode planner: the planner's per-step match rates and path errors
    violations: list[str] = field(default_factory=list)  # what a perturbed split forbids and the episode did

    @property
    def succeeded(self) -> bool:
        """Success as scored: a crashed episode is a failure whatever `success` says."""
        return self.success and self.error is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EpisodeResult:
        """Strict inverse of `to_dict`: unknown/missing keys or wrong types raise ValueError."""
        if not isinstance(d, dict):
            raise ValueError(f"EpisodeResult.from_dict expects a dict, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        unknown, missing = sorted(set(d) - names), sorted(required - set(d))
        if unknown or missing:
            raise ValueError(f"invalid EpisodeResult: unknown keys {unknown}, missing keys {missing}")
        for key, value in d.items():
            # bool is an int subclass; don't let True pass as a step count.
            bad_bool = isinstance(value, bool) and bool not in _TYPES[key]
            if bad_bool or not isinstance(value, _TYPES[key]):
                raise ValueError(f"invalid EpisodeResult: {key}={value!r} has type {type(value).__name__}")
        return cls(**{**d, "wall_time_s": float(d["wall_time_s"])})
