"""The safety filter: one requested target → one command that is inside every limit, or a hold.

Guarantees, for any input (NaN, inf, 1e300 included), whenever the result is not a hold:
the EE position is inside the workspace box, it is at most ``min(max_step_m, max_linear_speed·dt)``
from the reference, the orientation is a unit quaternion at most
``min(max_step_rad, max_angular_speed·dt)`` from the reference's; joint targets are inside the joint
limits and each joint moves at most ``min(max_joint_step, max_joint_speed·dt)``. Nothing non-finite
is ever returned. The reference is the last command sent (or the measured state; the bridge picks).

Order matters: clip the target to the box first, then limit the step. The reference is inside the
box (else hold), the box is convex, so the step-limited point stays in it; the final clip is a
projection onto the box, which never lengthens the step (projections are non-expansive).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vla_core.deploy.limits import N_JOINTS, SafetyLimits
from vla_core.deploy.pose import EEPose, EETarget, JointTarget, normalize_quat, quat_angle, rotate_toward

BOX_TOL = 1e-9  # m: a reference this far outside the box (rounding) still counts as inside


@dataclass(frozen=True)
class EECommand:
    pose: EEPose | None  # the command; on hold the pose held (the reference), None if that is unusable
    gripper: float | None  # in [0, 1]; None: leave the gripper as it is
    hold: bool  # True: send nothing new
    reasons: tuple[str, ...] = field(default_factory=tuple)  # one entry per clamp or hold cause


@dataclass(frozen=True)
class JointCommand:
    q: np.ndarray | None  # (7,) rad; on hold the reference, None if that is unusable
    gripper: float | None
    hold: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _clean_gripper(value: float, reasons: list[str]) -> float | None:
    g = float(value)
    if not math.isfinite(g):
        reasons.append("gripper_not_finite")
        return None
    if not 0.0 <= g <= 1.0:
        reasons.append("gripper_clip")
        g = min(max(g, 0.0), 1.0)
    return g


def _allowed(step: float, speed: float, dt: float, reasons: list[str]) -> float:
    """min(step, speed·dt); a bad dt (NaN, negative) allows no motion at all."""
    if not math.isfinite(dt) or dt < 0:
        reasons.append("bad_dt")
        return 0.0
    return min(step, speed * dt)


class SafetyFilter:
    def __init__(self, limits: SafetyLimits):
        self.limits = limits
        self._lo = np.array(limits.workspace_min)
        self._hi = np.array(limits.workspace_max)
        self._qlo = np.array(limits.joint_min)
        self._qhi = np.array(limits.joint_max)

    def in_box(self, position: np.ndarray, tol: float = BOX_TOL) -> bool:
        p = np.asarray(position, dtype=np.float64)
        return bool(np.all(np.isfinite(p)) and np.all(p >= self._lo - tol) and np.all(p <= self._hi + tol))

    def in_joint_limits(self, q: np.ndarray, tol: float = 1e-9) -> bool:
        q = np.asarray(q, dtype=np.float64)
        return bool(np.all(np.isfinite(q)) and np.all(q >= self._qlo - tol) and np.all(q <= self._qhi + tol))

    def clamp_ee(self, target: EETarget, reference: EEPose, dt: float) -> EECommand:
        """``target`` requested now, ``reference`` the pose the step is measured from, ``dt`` s since it."""
        lim = self.limits
        ref_q = normalize_quat(reference.quat)
        ref_p = np.asarray(reference.position, dtype=np.float64).reshape(-1)
        if ref_q is None or ref_p.shape != (3,) or not np.all(np.isfinite(ref_p)):
            return EECommand(None, None, True, ("reference_not_finite",))
        ref = EEPose(ref_p.copy(), ref_q)
        if not self.in_box(ref_p):
            # No command can be both in the box and one step from here: hold, let a person move the arm.
            return EECommand(ref, None, True, ("reference_outside_workspace",))
        reasons: list[str] = []
        gripper = _clean_gripper(target.gripper, reasons)
        p = np.asarray(target.position, dtype=np.float64).reshape(-1)
        q = normalize_quat(target.quat)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            return EECommand(ref, None, True, (*reasons, "target_position_not_finite"))
        if q is None:
            return EECommand(ref, None, True, (*reasons, "target_quat_invalid"))

        clipped = np.clip(p, self._lo, self._hi)
        if np.any(clipped != p):
            reasons.append("workspace_clip")
        max_lin = _allowed(lim.max_step_m, lim.max_linear_speed, dt, reasons)
        max_ang = _allowed(lim.max_step_rad, lim.max_angular_speed, dt, reasons)

        delta = clipped - ref_p
        dist = float(np.linalg.norm(delta))
        if dist > max_lin:
            reasons.append("translation_step")
            delta = delta * (max_lin / dist)
        position = np.clip(ref_p + delta, self._lo, self._hi)

        if quat_angle(ref_q, q) > max_ang:
            reasons.append("rotation_step")
        quat = rotate_toward(ref_q, q, max_ang)
        return EECommand(EEPose(position, quat), gripper, False, tuple(reasons))

    def clamp_joints(self, target: JointTarget, reference: np.ndarray, dt: float) -> JointCommand:
        """(7,) joint ``target`` vs the (7,) ``reference`` it steps from; uniform scaling keeps the direction."""
        lim = self.limits
        ref = np.asarray(reference, dtype=np.float64).reshape(-1)
        if ref.shape != (N_JOINTS,) or not np.all(np.isfinite(ref)):
            return JointCommand(None, None, True, ("reference_not_finite",))
        if not self.in_joint_limits(ref):
            return JointCommand(ref.copy(), None, True, ("reference_outside_joint_limits",))
        ref = np.clip(ref, self._qlo, self._qhi)  # inside up to rounding: make it exact
        reasons: list[str] = []
        gripper = _clean_gripper(target.gripper, reasons)
        q = np.asarray(target.q, dtype=np.float64).reshape(-1)
        if q.shape != (N_JOINTS,) or not np.all(np.isfinite(q)):
            return JointCommand(ref, None, True, (*reasons, "target_not_finite"))
        clipped = np.clip(q, self._qlo, self._qhi)
        if np.any(clipped != q):
            reasons.append("joint_limit_clip")
        max_step = _allowed(lim.max_joint_step, lim.max_joint_speed, dt, reasons)
        delta = clipped - ref
        worst = float(np.max(np.abs(delta)))
        if worst > max_step:
            reasons.append("joint_step")
            delta = delta * (max_step / worst)
        return JointCommand(np.clip(ref + delta, self._qlo, self._qhi), gripper, False, tuple(reasons))
