"""What the bridge knows about the robot: measured EE pose, arm joints, Franka robot mode.

``RobotMode`` mirrors ``franka_msgs/msg/FrankaRobotState.robot_mode``. ``arm_joints`` pulls the 7
arm joints out of a ``sensor_msgs/JointState``-shaped (names, positions) pair, whose order and
extra entries (fingers) are not guaranteed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from vla_core.deploy.pose import EEPose


class RobotMode(IntEnum):
    OTHER = 0
    IDLE = 1
    MOVE = 2
    GUIDING = 3
    REFLEX = 4
    USER_STOPPED = 5
    AUTOMATIC_ERROR_RECOVERY = 6

    @classmethod
    def name_of(cls, mode: int) -> str:
        try:
            return cls(int(mode)).name.lower()
        except ValueError:
            return f"unknown({mode})"


# Modes in which commands may go out: IDLE (no controller running yet; an equilibrium is harmless) and
# MOVE (our controller runs). Guiding, reflex, user stop and recovery all mean hands off.
COMMANDABLE = frozenset({RobotMode.IDLE, RobotMode.MOVE})


@dataclass(frozen=True)
class RobotState:
    ee_pose: EEPose | None = None  # measured, base frame (franka robot_state o_t_ee)
    joints: np.ndarray | None = None  # (7,) measured arm joint positions, rad
    robot_mode: int | None = None  # RobotMode; None where no franka robot state exists (fake hardware)


def joint_names(arm_id: str) -> list[str]:
    """franka_description's arm joint names: ``fr3_joint1`` … ``fr3_joint7``."""
    return [f"{arm_id}_joint{i}" for i in range(1, 8)]


def finger_joint_names(arm_id: str) -> list[str]:
    """franka_description's Franka Hand finger joints: ``fr3_finger_joint1``, ``fr3_finger_joint2``."""
    return [f"{arm_id}_finger_joint{i}" for i in (1, 2)]


def arm_joints(names: Sequence[str], positions: Sequence[float], arm_id: str) -> np.ndarray | None:
    """(7,) arm joint positions in joint order, or None if any arm joint is missing or non-finite."""
    if len(names) != len(positions):
        return None
    by_name = dict(zip(names, positions))
    try:
        q = np.array([float(by_name[n]) for n in joint_names(arm_id)])
    except (KeyError, TypeError, ValueError):
        return None
    return q if np.all(np.isfinite(q)) else None
