"""The observation every part of the stack consumes (sim, ROS 2 bridge, server)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Proprio:
    """Robot state. Positions in metres, angles in radians; EE pose in the base frame."""

    joint_pos: np.ndarray  # (7,)
    gripper: float  # finger opening, m (0 closed … 0.08 open)
    ee_pos: np.ndarray  # (3,) base frame
    ee_quat: np.ndarray  # (4,) wxyz, base frame
    base_pose: np.ndarray  # (3,) world x, y, yaw (zeros on fixed-base arms)

    def vector(self) -> np.ndarray:
        """(18,) flat float32: joints (7), gripper (1), EE pos (3), EE quat (4), base pose (3)."""
        return np.concatenate(
            [self.joint_pos, [self.gripper], self.ee_pos, self.ee_quat, self.base_pose]
        ).astype(np.float32)


@dataclass
class Observation:
    """One time step. Keypoints are in the robot base frame; NaN rows are not visible."""

    proprio: Proprio
    keypoints: np.ndarray  # (K, 3)
    keypoint_names: tuple[str, ...]
    task: str
    time: float  # seconds since reset
    rgb: dict[str, np.ndarray] = field(default_factory=dict)  # camera -> (H, W, 3) uint8
    depth: dict[str, np.ndarray] = field(default_factory=dict)  # camera -> (H, W) float32 metres

    def keypoint(self, name: str) -> np.ndarray:
        return self.keypoints[self.keypoint_names.index(name)]
