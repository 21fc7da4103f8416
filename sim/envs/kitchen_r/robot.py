"""The mobile Panda: joint indices, forward kinematics in the base frame, and the
Cartesian controller that turns a 10-D action into actuator targets.

Action (D=10, Kitchen-R's layout): base v (m/s, forward), base ω (rad/s),
EE target xyz in the base frame (m), EE quaternion wxyz in the base frame,
gripper (0 open … 1 closed).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from vla_core import frames
from vla_core.actions import split_action

ARM_JOINTS = tuple(f"robot:panda0_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("robot:panda0_finger_joint1", "robot:panda0_finger_joint2")
BASE_JOINTS = ("base_x", "base_y", "base_yaw")
EE_SITE = "end_effector"

MAX_BASE_V = 0.6  # m/s
MAX_BASE_W = 1.2  # rad/s
FINGER_OPEN = 0.04  # m per finger

# A ready posture: elbow up, gripper pointing down ~0.5 m in front of the mount.
HOME_Q = np.array([0.0, -0.5, 0.0, -2.2, 0.0, 0.1, 0.0])


@dataclass
class BaseState:
    x: float
    y: float
    yaw: float


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty(4)
    mujoco.mju_mulQuat(out, a, b)
    return out


def quat_to_mat(q: np.ndarray) -> np.ndarray:
    m = np.empty(9)
    mujoco.mju_quat2Mat(m, np.asarray(q, dtype=float))
    return m.reshape(3, 3)


def mat_to_quat(m: np.ndarray) -> np.ndarray:
    q = np.empty(4)
    mujoco.mju_mat2Quat(q, np.asarray(m, dtype=float).reshape(9))
    return q


def yaw_quat(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def wrap_angle(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)


class MobilePanda:
    """Indices into one compiled model, plus FK/IK on a private scratch MjData.

    IK runs with the base at the origin, so EE targets are solved in the base
    frame: the arm's kinematics do not depend on where the base stands.
    """

    def __init__(self, model: mujoco.MjModel):
        self.model = model
        jid = lambda n: model.joint(n).id  # noqa: E731
        self.arm_qpos = np.array([model.jnt_qposadr[jid(n)] for n in ARM_JOINTS])
        self.arm_dof = np.array([model.jnt_dofadr[jid(n)] for n in ARM_JOINTS])
        self.finger_qpos = np.array([model.jnt_qposadr[jid(n)] for n in FINGER_JOINTS])
        self.base_qpos = np.array([model.jnt_qposadr[jid(n)] for n in BASE_JOINTS])
        self.arm_act = np.array([model.actuator(f"panda0_joint{i}").id for i in range(1, 8)])
        self.finger_act = np.array([model.actuator(n).id for n in ("r_gripper_finger_joint", "l_gripper_finger_joint")])
        self.base_act = np.array([model.actuator(n).id for n in BASE_JOINTS])
        self.ee_site = model.site(EE_SITE).id
        self.lo = model.jnt_range[[jid(n) for n in ARM_JOINTS], 0]
        self.hi = model.jnt_range[[jid(n) for n in ARM_JOINTS], 1]
        self.finger_geoms = frozenset(
            g for g in range(model.ngeom)
            if model.body(model.geom_bodyid[g]).name in ("panda0_leftfinger", "panda0_rightfinger")
        )
        self._scratch = mujoco.MjData(model)
        self._jac = np.zeros((6, model.nv))

    # ---- state readers -------------------------------------------------
    def base(self, data: mujoco.MjData) -> BaseState:
        x, y, yaw = data.qpos[self.base_qpos]
        return BaseState(float(x), float(y), float(yaw))

    def arm_q(self, data: mujoco.MjData) -> np.ndarray:
        return data.qpos[self.arm_qpos].copy()

    def gripper_width(self, data: mujoco.MjData) -> float:
        return float(data.qpos[self.finger_qpos].sum())

    def world_to_base(self, data: mujoco.MjData, p: np.ndarray) -> np.ndarray:
        """(…, 3) world points → base frame."""
        b = self.base(data)
        return frames.world_to_base(p, (b.x, b.y, b.yaw))

    def base_to_world(self, data: mujoco.MjData, p: np.ndarray) -> np.ndarray:
        b = self.base(data)
        return frames.base_to_world(p, (b.x, b.y, b.yaw))

    def ee_base(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """EE position and quaternion (wxyz) in the base frame, from the arm joints alone."""
        return self.fk(self.arm_q(data))

    # ---- kinematics ----------------------------------------------------
    def fk(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = self._scratch
        d.qpos[:] = 0.0
        d.qpos[self.arm_qpos] = q
        mujoco.mj_kinematics(self.model, d)
        return d.site_xpos[self.ee_site].copy(), mat_to_quat(d.site_xmat[self.ee_site])

    def pose_error(self, q: np.ndarray, pos: np.ndarray, quat: np.ndarray) -> float:
        """Position error (m) + 0.1 m per radian of orientation error, at joints ``q``."""
        p, r = self.fk(q)
        dot = abs(float(np.dot(r, np.asarray(quat) / max(np.linalg.norm(quat), 1e-9))))
        return float(np.linalg.norm(p - pos) + 0.1 * 2 * np.arccos(min(dot, 1.0)))

    def ik(self, pos: np.ndarray, quat: np.ndarray, q0: np.ndarray, iters: int = 20,
           damping: float = 0.03, rot_weight: float = 0.5) -> np.ndarray:
        """Damped least squares from ``q0`` toward the base-frame pose; joint limits respected.

        A weak pull toward HOME_Q in the null space keeps the elbow up.
        """
        m, d = self.model, self._scratch
        q = np.clip(np.asarray(q0, dtype=float).copy(), self.lo, self.hi)
        target_q = np.asarray(quat, dtype=float) / max(np.linalg.norm(quat), 1e-9)
        err = np.zeros(6)
        cur_q, neg = np.empty(4), np.empty(4)
        for _ in range(iters):
            d.qpos[:] = 0.0
            d.qpos[self.arm_qpos] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            err[:3] = pos - d.site_xpos[self.ee_site]
            mujoco.mju_mat2Quat(cur_q, d.site_xmat[self.ee_site])
            mujoco.mju_negQuat(neg, cur_q)
            dq = np.empty(4)
            mujoco.mju_mulQuat(dq, target_q, neg)
            rv = np.empty(3)
            mujoco.mju_quat2Vel(rv, dq, 1.0)
            err[3:] = rot_weight * rv
            if np.linalg.norm(err[:3]) < 1e-4 and np.linalg.norm(rv) < 1e-3:
                break
            mujoco.mj_jacSite(m, d, self._jac[:3], self._jac[3:], self.ee_site)
            J = self._jac[:, self.arm_dof].copy()
            J[3:] *= rot_weight
            JJt = J @ J.T + damping**2 * np.eye(6)
            step = J.T @ np.linalg.solve(JJt, err)
            # null-space posture bias
            N = np.eye(7) - J.T @ np.linalg.solve(JJt, J)
            step += N @ (0.1 * (HOME_Q - q))
            q = np.clip(q + np.clip(step, -0.3, 0.3), self.lo, self.hi)
        return q


RESEED_ERROR = 0.02  # pose error (m + 0.1 m/rad) beyond which IK is re-seeded


class CartesianController:
    """10-D action → actuator targets. Owns the commanded base pose (integrated from v, ω)."""

    def __init__(self, robot: MobilePanda, dt: float):
        self.robot = robot
        self.dt = dt
        self.base_target = np.zeros(3)
        self.arm_target = HOME_Q.copy()

    def reset(self, data: mujoco.MjData) -> None:
        self.base_target = data.qpos[self.robot.base_qpos].copy()
        self.arm_target = self.robot.arm_q(data)
        self.write(data, gripper=0.0)

    def state(self) -> np.ndarray:
        return np.concatenate([self.base_target, self.arm_target])

    def set_state(self, s: np.ndarray) -> None:
        self.base_target, self.arm_target = s[:3].copy(), s[3:10].copy()

    def apply(self, data: mujoco.MjData, action: np.ndarray) -> None:
        """``action``: the 10-D mobile layout, or the 8-D arm-only one (base held still)."""
        base, pos, quat, grip = split_action(action)
        v = float(np.clip(base[0], -MAX_BASE_V, MAX_BASE_V))
        w = float(np.clip(base[1], -MAX_BASE_W, MAX_BASE_W))
        x, y, yaw = self.base_target
        # integrate at the midpoint heading so arcs close correctly
        mid = yaw + 0.5 * w * self.dt
        self.base_target = np.array([x + v * np.cos(mid) * self.dt, y + v * np.sin(mid) * self.dt, yaw + w * self.dt])
        gripper = float(np.clip(grip, 0.0, 1.0))
        # never jump to another IK branch with the gripper closed: it may be holding something
        self.arm_target = self.solve(pos, quat, self.robot.arm_q(data), reseed=gripper < 0.5)
        self.write(data, gripper=gripper)

    def solve(self, pos: np.ndarray, quat: np.ndarray, q: np.ndarray, reseed: bool = True) -> np.ndarray:
        """Local IK from the current joints; if that stalls (a bad branch after an odd reach),
        re-seed from HOME_Q and switch only when it is clearly better (no flapping)."""
        local = self.robot.ik(pos, quat, q)
        err = self.robot.pose_error(local, pos, quat)
        if err < RESEED_ERROR or not reseed:
            return local
        fresh = self.robot.ik(pos, quat, HOME_Q, iters=80)
        return fresh if self.robot.pose_error(fresh, pos, quat) < 0.5 * err else local

    def write(self, data: mujoco.MjData, gripper: float) -> None:
        r = self.robot
        data.ctrl[r.base_act] = self.base_target
        data.ctrl[r.arm_act] = self.arm_target
        data.ctrl[r.finger_act] = FINGER_OPEN * (1.0 - gripper)
