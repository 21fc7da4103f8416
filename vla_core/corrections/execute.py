"""Actions for a correction without asking the policy: the scripted executor of a language motion (the
grammar's directions as small steps; "stop", a freeze, names no axis and so holds the anchor), so any
policy — the scripted expert, a learned one never trained on motions, a remote one — obeys "stop" and
"move left" the same way.

Actions are the DESIGN §3 layouts: mobile (10,) ``[v, ω, x y z, qw qx qy qz, grip]`` or arm (8,) without
``v, ω``; EE targets in the base frame, grip 0 open … 1 closed.
"""

from __future__ import annotations

import numpy as np

from vla_core.actions import ARM_DIM, MOBILE_DIM
from vla_core.corrections.config import CorrectionConfig
from vla_core.frames import quat_mul
from vla_core.observation import Proprio
from vla_core.plans.motion import MotionDirections


def _action(dim: int, base: np.ndarray, pos: np.ndarray, quat: np.ndarray, grip: float) -> np.ndarray:
    if dim not in (MOBILE_DIM, ARM_DIM):
        raise ValueError(f"action dim must be {MOBILE_DIM} (mobile) or {ARM_DIM} (arm), got {dim}")
    arm = np.concatenate([pos, quat, [grip]])
    return np.concatenate([base, arm]) if dim == MOBILE_DIM else arm


def _axis_quat(rotvec: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(rotvec))
    if angle < 1e-12:
        return np.array([1.0, 0.0, 0.0, 0.0])
    return np.concatenate([[np.cos(angle / 2)], np.sin(angle / 2) * rotvec / angle])


def motion_action(dim: int, d: MotionDirections, proprio: Proprio, anchor_pos: np.ndarray, anchor_quat: np.ndarray,
                  grip: float, config: CorrectionConfig) -> np.ndarray:
    """(dim,) one step of a language motion at ``proprio``: a named axis steps ``step_m`` from where the EE is
    now (closed loop: a slow arm is never asked to jump); an axis the motion does not name stays at the
    anchor (the EE pose when the override began), so "move left" does not drift down. Diagonal motions keep
    the same speed; a rotation steps ``step_rad`` about its base-frame axis from the current orientation."""
    arm = np.asarray(d.arm, np.float64)
    pos = np.asarray(anchor_pos, np.float64).copy()
    if np.any(arm):
        ee = np.asarray(proprio.ee_pos, np.float64)
        step = config.step_m * arm / np.linalg.norm(arm)
        pos[arm != 0] = ee[arm != 0] + step[arm != 0]
    rot = np.asarray(d.rotate, np.float64)
    quat = np.asarray(anchor_quat, np.float64)
    if np.any(rot):  # target · current⁻¹ = the step, the convention of vla_core.plans.motion.rotation_delta
        quat = quat_mul(_axis_quat(config.step_rad * rot / np.linalg.norm(rot)), np.asarray(proprio.ee_quat, np.float64))
        quat /= np.linalg.norm(quat)
    base = np.array([d.base[0] * config.base_speed, d.base[1] * 2.0 * config.base_speed])
    return _action(dim, base, pos, quat, grip if d.gripper is None else d.gripper)


__all__ = ["motion_action"]
