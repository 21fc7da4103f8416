"""``configs/corrections/<name>.yaml`` → ``CorrectionConfig`` (a hydra config group; unknown keys are errors)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
CUT_CHUNK = ("stop", "all")
EXECUTORS = ("scripted", "policy")


@dataclass(frozen=True)
class CorrectionConfig:
    motion_duration_s: float | None = 2.0  # None: a motion lasts until the next correction
    instruction_duration_s: float | None = None  # None: until 'continue', the next correction or the sub-step's end
    cut_chunk: str = "stop"  # which corrections cut the running chunk short: 'stop' | 'all'
    motion_executor: str = "scripted"  # 'scripted' (vla_core.corrections.execute) | 'policy'
    step_m: float = 0.01  # scripted: EE step per action, m
    step_rad: float = 0.05  # scripted: EE rotation per action, rad
    base_speed: float = 0.15  # scripted: base m/s (turning: 2x in rad/s)

    def __post_init__(self) -> None:
        for name in ("motion_duration_s", "instruction_duration_s"):
            _positive(name, getattr(self, name), optional=True)
        for name in ("step_m", "step_rad", "base_speed"):
            _positive(name, getattr(self, name))
        if self.cut_chunk not in CUT_CHUNK:
            raise ValueError(f"cut_chunk must be one of {CUT_CHUNK}, got {self.cut_chunk!r}")
        if self.motion_executor not in EXECUTORS:
            raise ValueError(f"motion_executor must be one of {EXECUTORS}, got {self.motion_executor!r}")

    @classmethod
    def from_dict(cls, d: dict) -> "CorrectionConfig":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown corrections key(s) {sorted(unknown)}; known: {[f.name for f in fields(cls)]}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


def _positive(name: str, value, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number{' or null' if optional else ''}, got {value!r}")


def load_correction_config(name: str = "default", config_dir: str | Path = CONFIG_DIR,
                           overrides: dict | None = None) -> CorrectionConfig:
    """``<config_dir>/corrections/<name>.yaml`` composed by hydra, with ``overrides`` on top."""
    from vla_core.deploy.stack import group_config

    return CorrectionConfig.from_dict({**group_config(config_dir, "corrections", name), **(overrides or {})})
