"""Safety limits for a Franka arm: workspace box, speeds, per-command steps, joint limits, staleness.

Everything is in the robot base frame (``fr3_link0`` / ``panda_link0``), metres, radians, seconds.
Construction validates (``SafetyLimits(...)`` and ``from_dict`` alike), so a limits object that
exists is a usable one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from vla_core.deploy.validate import number, ordered, vector
from vla_core.deploy.validate import section as validate_section

N_JOINTS = 7

# Franka's datasheet joint position limits (rad). FR3 is franka_ros2 Jazzy's default robot_type.
JOINT_LIMITS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "fr3": ((-2.7437, -1.7837, -2.9007, -3.0421, -2.8065, 0.5445, -3.0159),
            (2.7437, 1.7837, 2.9007, -0.1518, 2.8065, 4.5169, 3.0159)),
    "panda": ((-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973),
              (2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973)),
}
# Default limits sit this far inside the datasheet ones: libfranka aborts with a reflex right at the
# hardware limit, and a held pose there cannot be left without error recovery.
JOINT_MARGIN = 0.05


def default_joint_limits(robot_type: str = "fr3") -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(joint_min (7,), joint_max (7,)): the datasheet limits shrunk by ``JOINT_MARGIN``."""
    if robot_type not in JOINT_LIMITS:
        raise ValueError(f"robot_type must be one of {sorted(JOINT_LIMITS)}, got {robot_type!r}")
    lo, hi = JOINT_LIMITS[robot_type]
    return tuple(v + JOINT_MARGIN for v in lo), tuple(v - JOINT_MARGIN for v in hi)


_FR3_MIN, _FR3_MAX = default_joint_limits("fr3")


@dataclass(frozen=True)
class SafetyLimits:
    # workspace box for the EE target, base frame (m); the default is a table-top region in front of the arm
    workspace_min: tuple[float, float, float] = (0.25, -0.45, 0.05)
    workspace_max: tuple[float, float, float] = (0.80, 0.45, 0.75)
    max_linear_speed: float = 0.25  # m/s of the commanded EE target
    max_angular_speed: float = 1.0  # rad/s of the commanded EE orientation
    max_step_m: float = 0.02  # largest translation between consecutive commands, whatever dt is
    max_step_rad: float = 0.10  # largest rotation between consecutive commands
    # how far the command may lead the measured EE pose before the bridge re-anchors on the measured
    # one: an impedance controller turns that gap into force, so it must stay small
    max_tracking_error_m: float = 0.05
    max_tracking_error_rad: float = 0.30
    joint_min: tuple[float, ...] = _FR3_MIN  # (7,) rad
    joint_max: tuple[float, ...] = _FR3_MAX  # (7,) rad
    max_joint_step: float = 0.05  # rad between consecutive joint commands, per joint
    max_joint_speed: float = 0.5  # rad/s per joint
    max_joint_tracking_error: float = 0.20  # rad, per joint, command vs measured
    stale_action_s: float = 0.5  # no new action for this long → hold
    stale_state_s: float = 0.2  # no robot state for this long → hold

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise the validated values in place
        set_(self, "workspace_min", vector("workspace_min", self.workspace_min, 3))
        set_(self, "workspace_max", vector("workspace_max", self.workspace_max, 3))
        ordered("workspace_min", self.workspace_min, "workspace_max", self.workspace_max)
        set_(self, "joint_min", vector("joint_min", self.joint_min, N_JOINTS))
        set_(self, "joint_max", vector("joint_max", self.joint_max, N_JOINTS))
        ordered("joint_min", self.joint_min, "joint_max", self.joint_max)
        for f in fields(self):
            if f.name not in ("workspace_min", "workspace_max", "joint_min", "joint_max"):
                set_(self, f.name, number(f.name, getattr(self, f.name), positive=True))

    @classmethod
    def from_dict(cls, data: Mapping, robot_type: str = "fr3", section: str = "safety") -> SafetyLimits:
        """Limits from a config mapping; joint limits default to ``robot_type``'s (with the margin)."""
        joint_min, joint_max = default_joint_limits(robot_type)
        return validate_section(section, cls, data, joint_min=joint_min, joint_max=joint_max)
