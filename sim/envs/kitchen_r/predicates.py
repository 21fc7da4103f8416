"""Success predicates, computed from simulator state only (never from a policy's claims)."""

from __future__ import annotations

import mujoco
import numpy as np

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r.robot import wrap_angle
from sim.envs.kitchen_r.tasks import Goal

AT_TOL_XY = 0.3  # m from the area's base pose
AT_TOL_YAW = 0.5  # rad
# a navigate *subtask* is done (the oracle moves on to manipulating) once the base stands still
# this close to the dock: tight enough that the arm reaches what the next subtask needs, loose enough
# that a learned policy's docking (±7 cm) counts; the expert docks to 3 cm either way
DOCKED_TOL_XY = 0.10  # m
DOCKED_TOL_YAW = 0.15  # rad
DOCKED_SPEED = 0.15  # m/s (and rad/s): slow enough that the next subtask's v = 0 stops it at once
REST_SPEED = 0.05  # m/s: an object still moving has not been placed yet


def body_pos(model: mujoco.MjModel, data: mujoco.MjData, name: str) -> np.ndarray:
    return data.xpos[model.body(name).id]


def touching(model: mujoco.MjModel, data: mujoco.MjData, body: str, geoms: frozenset[int]) -> bool:
    """True if any contact joins ``body`` to one of ``geoms`` (e.g. the fingers)."""
    bid = model.body(body).id
    for i in range(data.ncon):
        c = data.contact[i]
        g1, g2 = c.geom1, c.geom2
        if (model.geom_bodyid[g1] == bid and g2 in geoms) or (model.geom_bodyid[g2] == bid and g1 in geoms):
            return True
    return False


def fingers_free(model: mujoco.MjModel, data: mujoco.MjData, finger_geoms: frozenset[int]) -> bool:
    """No finger touches anything but the robot itself."""
    for i in range(data.ncon):
        c = data.contact[i]
        for g, other in ((c.geom1, c.geom2), (c.geom2, c.geom1)):
            if g in finger_geoms and not model.body(model.geom_bodyid[other]).name.startswith("panda0_"):
                return False
    return True


def is_held(model, data, obj: str, finger_geoms: frozenset[int]) -> bool:
    return touching(model, data, obj, finger_geoms)


def obj_speed(model, data, name: str) -> float:
    vel = np.zeros(6)
    mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, model.body(name).id, vel, 0)
    return float(np.linalg.norm(vel[3:]))


def on_surface(model, data, obj: str, surface: str) -> bool:
    s = C.SURFACE_BY_NAME[surface]
    o = C.OBJECT_BY_NAME[obj]
    p = body_pos(model, data, obj)
    inside = abs(p[0] - s.center[0]) <= s.half[0] and abs(p[1] - s.center[1]) <= s.half[1]
    resting = abs(p[2] - (s.height + o.half_height)) < 0.03
    return bool(inside and resting)


def in_receptacle(model, data, obj: str, rec: str) -> bool:
    r = C.RECEPTACLE_BY_NAME[rec]
    p, q = body_pos(model, data, obj), body_pos(model, data, rec)
    o = C.OBJECT_BY_NAME[obj]
    inside = np.linalg.norm(p[:2] - q[:2]) <= r.radius - 0.01
    # resting on the receptacle's floor (plate: on its top face)
    resting = -0.01 < p[2] - (q[2] + 0.005 + o.half_height) < 0.03
    return bool(inside and resting)


def fixture_active(model, data, name: str) -> bool | None:
    """True = open/on, False = closed/off, None = in between."""
    f = C.FIXTURE_BY_NAME[name]
    q = float(data.qpos[model.joint(f.joint).qposadr[0]])
    if f.name == "slide_cabinet":
        return True if q > C.SLIDE_OPEN_ABOVE else (False if q < C.SLIDE_CLOSED_BELOW else None)
    return True if q < f.active_below else (False if q > f.inactive_above else None)


def base_at(model, data, area: str, base_qpos: np.ndarray, tol_xy: float = AT_TOL_XY,
            tol_yaw: float = AT_TOL_YAW) -> bool:
    """The base near ``area``'s pose (an area, or a fixture's dock: ``catalog.dock_pose``)."""
    x, y, yaw = data.qpos[base_qpos]
    ax, ay, ayaw = C.dock_pose(area)
    return bool(np.hypot(x - ax, y - ay) < tol_xy and abs(wrap_angle(yaw - ayaw)) < tol_yaw)


def goal_met(model, data, goal: Goal, *, base_qpos: np.ndarray, finger_geoms: frozenset[int]) -> bool:
    if goal.kind == "at":
        return base_at(model, data, goal.target, base_qpos)
    if goal.kind in ("on", "in"):
        placed = on_surface(model, data, goal.target, goal.dest) if goal.kind == "on" else in_receptacle(
            model, data, goal.target, goal.dest)
        return placed and not is_held(model, data, goal.target, finger_geoms) and obj_speed(
            model, data, goal.target) < REST_SPEED
    if goal.kind == "fixture":
        return fixture_active(model, data, goal.target) is goal.active
    raise ValueError(f"unknown goal kind {goal.kind!r}")
