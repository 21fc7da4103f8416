"""Inverse kinematics of a real Franka arm, for ``action_space:=joint``: the policies output EE targets.

Forward kinematics from Franka's published Denavit–Hartenberg parameters (modified/Craig convention,
the same for Panda and FR3) up to the flange, then the end effector's fixed transform (the Franka Hand's
TCP by default: 0.1034 m along the flange z, rotated −45° about it — what ``O_T_EE`` reports with the
hand configured). IK is damped least squares on the 6-D pose error, started from the measured joints and
pulled back inside the joint limits at every iteration; a target it cannot reach to within tolerance is
refused (``IKError``), never sent as a best effort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vla_core.deploy.limits import default_joint_limits
from vla_core.frames import mat_to_quat, rotation_error

# (a, d, alpha) per joint, modified DH (Craig): T_i = RotX(alpha) TransX(a) RotZ(q) TransZ(d)
DH = np.array([[0.0, 0.333, 0.0],
               [0.0, 0.0, -np.pi / 2],
               [0.0, 0.316, np.pi / 2],
               [0.0825, 0.0, np.pi / 2],
               [-0.0825, 0.384, -np.pi / 2],
               [0.0, 0.0, np.pi / 2],
               [0.088, 0.0, np.pi / 2]])
FLANGE_D = 0.107  # joint 7 → flange along z
HAND_TCP = (0.1034, -np.pi / 4)  # Franka Hand: (offset along the flange z (m), rotation about it (rad))


class IKError(ValueError):
    """No joint configuration inside the limits reaches the target within tolerance."""


def _link(a: float, d: float, alpha: float, q: float) -> np.ndarray:
    ca, sa, cq, sq = np.cos(alpha), np.sin(alpha), np.cos(q), np.sin(q)
    return np.array([[cq, -sq, 0.0, a],
                     [sq * ca, cq * ca, -sa, -d * sa],
                     [sq * sa, cq * sa, ca, d * ca],
                     [0.0, 0.0, 0.0, 1.0]])


def _tcp(offset: float, yaw: float) -> np.ndarray:
    t = np.eye(4)
    t[:2, :2] = [[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]]
    t[2, 3] = FLANGE_D + offset
    return t


@dataclass(frozen=True)
class FrankaIK:
    """``ik(pos (3,), quat (4,) wxyz, q (7,)) → q (7,)`` for ``Agent(ik=...)``; poses in the arm's base
    frame (``link0``, what ``O_T_EE`` uses). ``tcp``: (offset along the flange z (m), rotation about it)."""

    robot_type: str = "fr3"
    tcp: tuple[float, float] = HAND_TCP
    pos_tol: float = 1e-3  # m
    rot_tol: float = 1e-2  # rad
    iterations: int = 200
    damping: float = 1e-2
    max_step: float = 0.2  # rad per joint and iteration

    def __post_init__(self) -> None:
        lo, hi = default_joint_limits(self.robot_type)  # raises on an unknown robot_type
        object.__setattr__(self, "_lo", np.array(lo))
        object.__setattr__(self, "_hi", np.array(hi))

    @property
    def limits(self) -> tuple[np.ndarray, np.ndarray]:
        return self._lo.copy(), self._hi.copy()

    def frames(self, q: np.ndarray) -> list[np.ndarray]:
        """(4, 4) pose of joint frames 1..7 and the TCP in the base frame (8 frames)."""
        q = np.asarray(q, np.float64).reshape(7)
        t, out = np.eye(4), []
        for (a, d, alpha), qi in zip(DH, q):
            t = t @ _link(a, d, alpha, qi)
            out.append(t)
        out.append(t @ _tcp(*self.tcp))
        return out

    def fk(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """→ TCP position (3,), rotation (3, 3) in the base frame."""
        t = self.frames(q)[-1]
        return t[:3, 3].copy(), t[:3, :3].copy()

    def jacobian(self, q: np.ndarray) -> np.ndarray:
        """(6, 7) geometric Jacobian of the TCP (linear; angular) in the base frame."""
        fr = self.frames(q)
        p = fr[-1][:3, 3]
        jac = np.zeros((6, 7))
        for i in range(7):
            z, o = fr[i][:3, 2], fr[i][:3, 3]  # joint i turns about its own frame's z
            jac[:3, i] = np.cross(z, p - o)
            jac[3:, i] = z
        return jac

    def __call__(self, pos: np.ndarray, quat: np.ndarray, q: np.ndarray) -> np.ndarray:
        q0 = np.asarray(q, np.float64).reshape(7)
        if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(quat)) and np.all(np.isfinite(q0))):
            raise IKError("non-finite target or joint state")
        if np.linalg.norm(quat) < 1e-6:
            raise IKError("target quaternion has zero norm")
        target_p = np.asarray(pos, np.float64).reshape(3)
        target_q = np.asarray(quat, np.float64).reshape(4) / np.linalg.norm(quat)
        qi = np.clip(q0, self._lo, self._hi)
        lam2 = self.damping ** 2
        for _ in range(self.iterations):
            p, r = self.fk(qi)
            err = np.concatenate([target_p - p, rotation_error(target_q, mat_to_quat(r))])
            if np.linalg.norm(err[:3]) < self.pos_tol and np.linalg.norm(err[3:]) < self.rot_tol:
                return qi
            jac = self.jacobian(qi)
            step = jac.T @ np.linalg.solve(jac @ jac.T + lam2 * np.eye(6), err)
            blocked = ((qi <= self._lo) & (step < 0)) | ((qi >= self._hi) & (step > 0))
            if blocked.any():  # a joint held at its limit: the others make up for it
                jac[:, blocked] = 0.0
                step = jac.T @ np.linalg.solve(jac @ jac.T + lam2 * np.eye(6), err)
            step *= min(1.0, self.max_step / max(np.abs(step).max(), 1e-12))  # near singularities DLS overshoots
            qi = np.clip(qi + step, self._lo, self._hi)
        p, r = self.fk(qi)
        raise IKError(f"no joint solution within limits reaches the target (left {1e3 * np.linalg.norm(target_p - p):.1f}"
                      f" mm, {np.linalg.norm(rotation_error(target_q, mat_to_quat(r))):.3f} rad)")


__all__ = ["DH", "FrankaIK", "HAND_TCP", "IKError"]
