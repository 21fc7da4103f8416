"""``configs/corrections/<name>.yaml`` → ``CorrectionConfig`` (a hydra config group; unknown keys are errors)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from vla_core.deploy.validate import number, section, text

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
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("cut_chunk", "motion_executor"):
                text(f.name, value, CUT_CHUNK if f.name == "cut_chunk" else EXECUTORS)
            elif value is not None or not f.name.endswith("duration_s"):  # durations may be null: open-ended
                number(f.name, value, positive=True)

    @classmethod
    def from_dict(cls, d: dict) -> "CorrectionConfig":
        return section("corrections", cls, d)

    def to_dict(self) -> dict:
        return asdict(self)


def load_correction_config(name: str = "default", config_dir: str | Path = CONFIG_DIR,
                           overrides: dict | None = None) -> CorrectionConfig:
    """``<config_dir>/corrections/<name>.yaml`` composed by hydra, with ``overrides`` on top."""
    from vla_core.deploy.stack import group_config

    return CorrectionConfig.from_dict({**group_config(config_dir, "corrections", name), **(overrides or {})})
