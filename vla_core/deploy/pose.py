"""EE poses, requested targets, and the quaternion arithmetic the safety filter needs.

Quaternions are ``w x y z`` (Hamilton), as in the action layout (``vla_core.actions``) and in
``geometry_msgs/Quaternion`` read in that order. Positions are metres in the robot base frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vla_core.actions import ARM_DIM
from vla_core.deploy.limits import N_JOINTS
from vla_core.frames import quat_conj, quat_mul


@dataclass(frozen=True)
class EEPose:
    position: np.ndarray  # (3,) m
    quat: np.ndarray  # (4,) w x y z, unit norm

    def finite(self) -> bool:
        return bool(np.all(np.isfinite(self.position)) and np.all(np.isfinite(self.quat)))


@dataclass(frozen=True)
class EETarget:
    """What the policy asks for; may hold anything (NaN, inf, 1e300): the filter decides."""

    position: np.ndarray  # (3,) m
    quat: np.ndarray  # (4,) w x y z, any norm
    gripper: float  # 0 open … 1 closed (the sim's convention)

    @classmethod
    def from_array(cls, action) -> EETarget:
        """(8,) arm action ``x y z qw qx qy qz gripper`` → target (non-finite values kept for the filter)."""
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape[0] != ARM_DIM:
            raise ValueError(f"an EE action has {ARM_DIM} values (x y z qw qx qy qz gripper), got {a.shape[0]}")
        return cls(a[:3].copy(), a[3:7].copy(), float(a[7]))


@dataclass(frozen=True)
class JointTarget:
    q: np.ndarray  # (7,) rad
    gripper: float  # 0 open … 1 closed

    @classmethod
    def from_array(cls, action) -> JointTarget:
        """(8,) ``q1..q7 gripper`` → target."""
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape[0] != N_JOINTS + 1:
            raise ValueError(f"a joint action has {N_JOINTS + 1} values (q1..q7 gripper), got {a.shape[0]}")
        return cls(a[:N_JOINTS].copy(), float(a[N_JOINTS]))


def normalize_quat(q) -> np.ndarray | None:
    """Unit quaternion, or None when ``q`` is non-finite or (numerically) zero.

    Divides by the largest entry first so that finite-but-huge input (1e300) does not overflow.
    """
    q = np.asarray(q, dtype=np.float64).reshape(-1)
    if q.shape[0] != 4 or not np.all(np.isfinite(q)):
        return None
    scale = float(np.max(np.abs(q)))
    if scale < 1e-12:
        return None
    q = q / scale
    return q / np.linalg.norm(q)


def _relative(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation from unit ``a`` to unit ``b`` on the short way round (w ≥ 0)."""
    rel = quat_mul(quat_conj(a), b)
    return -rel if rel[0] < 0 else rel


def quat_angle(a: np.ndarray, b: np.ndarray) -> float:
    """Rotation angle (rad, in [0, π]) between unit quaternions; q and −q are the same rotation."""
    rel = _relative(a, b)
    # atan2 of (|v|, w) stays accurate for tiny angles, where arccos(w) loses half the digits
    return float(2.0 * np.arctan2(np.linalg.norm(rel[1:]), rel[0]))


def rotate_toward(a: np.ndarray, b: np.ndarray, max_angle: float) -> np.ndarray:
    """Unit ``a`` turned toward unit ``b`` by at most ``max_angle`` rad about their common axis.

    The result is on ``a``'s hemisphere (dot ≥ 0), so consecutive commands never flip sign.
    """
    rel = _relative(a, b)
    angle = 2.0 * np.arctan2(np.linalg.norm(rel[1:]), rel[0])
    if angle <= max_angle:
        out = quat_mul(a, rel)
    else:
        axis = rel[1:] / np.linalg.norm(rel[1:])  # angle > max_angle ≥ 0, so |v| > 0
        half = 0.5 * max(max_angle, 0.0)
        out = quat_mul(a, np.concatenate([[np.cos(half)], np.sin(half) * axis]))
    out = out / np.linalg.norm(out)
    return -out if float(np.dot(out, a)) < 0 else out
