"""Scripted kitchen_r demonstrators with privileged state, one per subtask kind.

Each subtask is a small state machine of phases; every call to ``act`` returns one
10-D action (base v, ω, EE xyz + quat wxyz in the base frame, gripper). The EE
command moves toward the phase target at a bounded speed so demonstrations are
smooth enough to learn from.
"""

from __future__ import annotations

import numpy as np

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r import predicates as P
from sim.envs.kitchen_r.layout import area_to_world, footprint, free_spot
from sim.envs.kitchen_r.robot import quat_mul, wrap_angle, yaw_quat
from vla_core.plans.subtask import Subtask

DOWN = np.array([0.0, 1.0, 0.0, 0.0])  # EE z pointing down, fingers closing along base y
CARRY = np.array([0.35, 0.0, 1.35])  # EE carry position in the base frame
EE_SPEED = 0.03  # m per 10 Hz step
PAD_BELOW_SITE = 0.015  # grasp-zone centre below the EE site
TIP_BELOW_SITE = 0.055  # fingertips below the EE site (plus margin)
DOCK_BACKOFF = 0.45  # m: approach an area straight from this far back


def down_quat(yaw: float) -> np.ndarray:
    return quat_mul(yaw_quat(yaw), DOWN)


class KitchenRExpert:
    """Privileged demonstrator. ``act(subtask)`` → (10,) action; phases reset when the subtask changes."""

    def __init__(self, env, seed: int = 0):
        self.env = env
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        self.subtask: Subtask | None = None
        self.phase = 0
        self.phase_steps = 0
        self.memory: dict = {}
        self.ee_cmd: np.ndarray | None = None
        self.quat_cmd: np.ndarray | None = None
        self.grip = 0.0

    # ---- helpers -----------------------------------------------------------------
    @property
    def _robot(self):
        return self.env.robot

    def _data(self):
        return self.env.data

    def _next_phase(self) -> None:
        self.phase += 1
        self.phase_steps = 0

    def _base_frame(self, p_world: np.ndarray) -> np.ndarray:
        return self._robot.world_to_base(self._data(), np.asarray(p_world))

    def _move_ee(self, target: np.ndarray, quat: np.ndarray | None = None, speed: float = EE_SPEED) -> bool:
        """Step the EE command toward ``target``; True once the command and the real EE are there."""
        d = target - self.ee_cmd
        n = np.linalg.norm(d)
        self.ee_cmd = target.copy() if n <= speed else self.ee_cmd + d / n * speed
        if quat is not None:
            self.quat_cmd = quat
        ee, _ = self._robot.ee_base(self._data())
        return n <= speed and np.linalg.norm(ee - target) < 0.015

    def _action(self, v: float = 0.0, w: float = 0.0) -> np.ndarray:
        return np.concatenate([[v, w], self.ee_cmd, self.quat_cmd, [self.grip]])

    # ---- base motion -------------------------------------------------------------
    def _drive_to(self, x: float, y: float, reverse_ok: bool = False) -> tuple[float, float, bool]:
        b = self._robot.base(self._data())
        dx, dy = x - b.x, y - b.y
        dist = float(np.hypot(dx, dy))
        if dist < 0.03:
            return 0.0, 0.0, True
        heading = np.arctan2(dy, dx)
        err = wrap_angle(heading - b.yaw)
        if reverse_ok and abs(err) > np.pi / 2:  # back straight up instead of turning
            err = wrap_angle(err + np.pi)
            v = -min(0.4, 1.2 * dist) * max(0.0, np.cos(err))
        else:
            v = min(0.55, 1.2 * dist) * max(0.0, np.cos(err)) if abs(err) < 0.35 else 0.0
        return v, float(np.clip(2.5 * err, -1.0, 1.0)), False

    def _turn_to(self, yaw: float) -> tuple[float, bool]:
        err = wrap_angle(yaw - self._robot.base(self._data()).yaw)
        return float(np.clip(2.5 * err, -1.0, 1.0)), abs(err) < 0.03

    # ---- subtasks ----------------------------------------------------------------
    def act(self, subtask: Subtask) -> np.ndarray:
        if subtask != self.subtask:
            self.subtask, self.phase, self.phase_steps, self.memory = subtask, 0, 0, {}
        if self.ee_cmd is None:
            self.ee_cmd, self.quat_cmd = self._robot.ee_base(self._data())
        self.phase_steps += 1
        handler = {"navigate": self._navigate, "pick": self._pick, "place": self._place}.get(subtask.kind)
        if handler is None:
            handler = self._fixture
        return handler(subtask)

    def _navigate(self, s: Subtask) -> np.ndarray:
        ax, ay, ayaw = C.AREA_BY_NAME[s.target].pose
        px, py = ax - DOCK_BACKOFF * np.cos(ayaw), ay - DOCK_BACKOFF * np.sin(ayaw)
        b = self._robot.base(self._data())
        if self.phase == 0:  # arm to carry pose; back away if docked at furniture
            carried = self._move_ee(CARRY, self.quat_cmd if self.grip > 0.5 else down_quat(0.0))
            docked = min(np.hypot(b.x - a.pose[0], b.y - a.pose[1]) for a in C.AREAS) < 0.2
            if "undock" not in self.memory:
                self.memory["undock"] = (b.x - 0.4 * np.cos(b.yaw), b.y - 0.4 * np.sin(b.yaw)) if docked else None
            if carried:
                self._next_phase()
            return self._action()
        if self.phase == 1:
            if self.memory["undock"] is not None:
                v, w, done = self._drive_to(*self.memory["undock"], reverse_ok=True)
                if not done:
                    return self._action(v, w)
            self._next_phase()
        if self.phase == 2:  # to the pre-dock point
            v, w, done = self._drive_to(px, py)
            if not done:
                return self._action(v, w)
            self._next_phase()
        if self.phase == 3:
            w, done = self._turn_to(ayaw)
            if not done:
                return self._action(0.0, w)
            self._next_phase()
        # phase 4: straight in to the dock pose
        dist = np.hypot(ax - b.x, ay - b.y)
        ahead = np.cos(ayaw) * (ax - b.x) + np.sin(ayaw) * (ay - b.y)
        w, _ = self._turn_to(ayaw)
        v = float(np.clip(1.2 * ahead, -0.3, 0.4)) if dist > 0.02 else 0.0
        return self._action(v, w)

    def _grasp_yaw(self, name: str) -> float:
        """Fingers close across the object; for mugs, across the body away from the handle."""
        d = self._data()
        q = d.xquat[self.env.model.body(name).id]
        obj_yaw = 2 * np.arctan2(q[3], q[0]) - self._robot.base(d).yaw
        spec = C.OBJECT_BY_NAME[name]
        if spec.shape == "box":
            yaw = obj_yaw
        elif spec.shape == "mug":
            yaw = obj_yaw  # fingers close along the EE y axis, perpendicular to the handle (+x)
        else:
            yaw = 0.0
        return float((yaw + np.pi / 4) % (np.pi / 2) - np.pi / 4) if spec.shape == "box" else wrap_angle_half(yaw)

    def _pick(self, s: Subtask) -> np.ndarray:
        m, d = self.env.model, self._data()
        spec = C.OBJECT_BY_NAME[s.target]
        obj = self._base_frame(P.body_pos(m, d, s.target))
        if "yaw" not in self.memory:
            self.memory["yaw"] = self._grasp_yaw(s.target)
            self.memory["support"] = obj[2] - spec.half_height
        support = self.memory["support"]
        grasp_z = max(obj[2] + PAD_BELOW_SITE, support + TIP_BELOW_SITE)
        quat = down_quat(self.memory["yaw"])
        if self.phase == 0:  # open, go above
            self.grip = 0.0
            if self._move_ee(np.array([obj[0], obj[1], support + 0.25]), quat):
                self._next_phase()
        elif self.phase == 1:  # descend
            if self._move_ee(np.array([obj[0], obj[1], grasp_z]), quat, speed=0.02) or self.phase_steps > 40:
                self._next_phase()
        elif self.phase == 2:  # close
            self.grip = 1.0
            if self.phase_steps > 8:
                self._next_phase()
        elif self.phase == 3:  # lift
            self._move_ee(np.array([self.ee_cmd[0], self.ee_cmd[1], support + 0.25]), quat, speed=0.02)
            if self.phase_steps > 12:
                if not P.is_held(m, d, s.target, self._robot.finger_geoms):
                    self.phase, self.phase_steps = 0, 0  # dropped: try again
        return self._action()

    def _place(self, s: Subtask) -> np.ndarray:
        m, d = self.env.model, self._data()
        spec = C.OBJECT_BY_NAME[s.target]
        if "spot" not in self.memory:
            self.memory["spot"] = self._place_spot(s)
            obj = self._base_frame(P.body_pos(m, d, s.target))
            ee, _ = self._robot.ee_base(d)
            self.memory["hang"] = ee[2] - obj[2]  # EE height above the held object's centre
        spot_w, support = self.memory["spot"]
        spot = self._base_frame(np.array([spot_w[0], spot_w[1], support]))
        release_z = support + spec.half_height + self.memory["hang"] + 0.015
        if self.phase == 0:
            if self._move_ee(np.array([spot[0], spot[1], support + 0.25]), None):
                self._next_phase()
        elif self.phase == 1:
            if self._move_ee(np.array([spot[0], spot[1], release_z]), None, speed=0.02) or self.phase_steps > 40:
                self._next_phase()
        elif self.phase == 2:
            self.grip = 0.0
            if self.phase_steps > 6:
                self._next_phase()
        else:
            self._move_ee(np.array([self.ee_cmd[0], self.ee_cmd[1], support + 0.25]), None, speed=0.02)
        return self._action()

    def _place_spot(self, s: Subtask) -> tuple[np.ndarray, float]:
        m, d = self.env.model, self._data()
        if s.dest in C.RECEPTACLE_BY_NAME:
            p = P.body_pos(m, d, s.dest)
            return p[:2].copy(), float(p[2] + 0.005)
        surf = C.SURFACE_BY_NAME[s.dest]
        occupied = []
        for name in self.env.layout.objects:
            if name != s.target:
                p = P.body_pos(m, d, name)
                if abs(p[2] - surf.height) < 0.2:
                    occupied.append((float(p[0]), float(p[1]), footprint(name)))
        spot = free_spot(s.dest, footprint(s.target), occupied, self.rng)
        if spot is None:
            spot = area_to_world(surf.area, 0.52, 0.0)
        return np.array(spot), surf.height

    def _fixture(self, s: Subtask) -> np.ndarray:
        raise NotImplementedError(f"fixture expert for {s.kind} not written yet")


def wrap_angle_half(a: float) -> float:
    """Wrap to [-π/2, π/2): a parallel gripper is symmetric under a half turn."""
    return float((a + np.pi / 2) % np.pi - np.pi / 2)
