"""Scripted LIBERO demonstrator on privileged state: pick an object, place it on or in a target.

Covers the pick-and-place goals of the spatial and object suites (and the goal suite's
pick-and-place tasks). Grasps are top-down with the start orientation: hollow objects (bowls,
ramekins, mugs) by the rim, closing the fingers across the wall; solid ones at their centre.
Targets are absolute EE poses in the robot base frame, moved toward at a capped speed; each
phase ends on simulator state, so the expert can take over from wherever the arm is.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from sim.envs.libero.env import EE_SITE
from vla_core.frames import quat_mul
from vla_core.plans.subtask import Subtask

SPEED = 0.012  # m per 20 Hz step (0.24 m/s) the commanded point moves
LEAD = 0.04  # m: the commanded point stays at most this far ahead of the gripper
HOVER = 0.10  # m above the grasp point before descending
CARRY = 0.12  # m of clearance above the destination while carrying
REACHED = 0.008  # m: a waypoint is reached
SETTLED = 0.025  # m: … or the gripper stopped this near it with the command on it
STALL_STEPS = 10  # calls without motion, short of the goal: the way down is blocked
CLOSE_STEPS = 8  # steps to close (or open) the gripper
HOLLOW = ("bowl", "ramekin", "mug", "cup")  # grasped by the rim
RIM_DEPTH = 0.03  # fingertips this far below a rim's top
SOLID_DEPTH = 0.03  # … or below a solid object's top (at most half its height)
FINGER_DROP = 0.011  # fingertips sit this far below the grip site
DROP_HEIGHT = 0.02  # the held object's bottom this far above the destination when released
FINGER_REACH = 0.05  # m from the grip site to an open fingertip along the closing axis
GRASP_YAWS = tuple(np.deg2rad([0.0, 45.0, -45.0, 90.0]))  # hand turns tried for a rim grasp (within joint 7's range)


@dataclass
class Extent:
    """World axis-aligned box of an object's collision geoms."""

    lo: np.ndarray
    hi: np.ndarray

    @property
    def centre(self) -> np.ndarray:
        return (self.lo + self.hi) / 2


def _geoms(env, name: str) -> tuple[list[int], int]:
    """(collision geoms, root body) of ``name``, cached on the env for the episode's model."""
    cache = env.geom_cache
    if name not in cache:
        m = env.model
        root = m.body(f"{name}_main").id if f"{name}_main" in _bodies(m) else m.body(name).id
        geoms = [g for g in range(m.ngeom) if _under(m, int(m.geom_bodyid[g]), root)
                 and not (m.geom_contype[g] == 0 and m.geom_conaffinity[g] == 0)]
        cache[name] = (geoms, root)
    return cache[name]


def extent(env, name: str) -> Extent:
    """The AABB of every collision geom in the bodies of ``name`` (``<name>_main`` and its children)."""
    m, d = env.model, env.data
    geoms, root = _geoms(env, name)
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    for g in geoms:
        r = m.geom_rbound[g] if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH else None
        half = np.abs(d.geom_xmat[g].reshape(3, 3)) @ m.geom_size[g] if r is None else np.full(3, r)
        if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE:
            half = np.full(3, m.geom_size[g][0])
        elif m.geom_type[g] in (mujoco.mjtGeom.mjGEOM_CYLINDER, mujoco.mjtGeom.mjGEOM_CAPSULE):
            s = m.geom_size[g]
            half = np.abs(d.geom_xmat[g].reshape(3, 3)) @ np.array([s[0], s[0], s[1]])
        lo = np.minimum(lo, d.geom_xpos[g] - half)
        hi = np.maximum(hi, d.geom_xpos[g] + half)
    if not np.all(np.isfinite(lo)):
        p = d.body(root).xpos
        return Extent(p.copy(), p.copy())
    return Extent(lo, hi)


def obstacles(env, obj: str) -> list[Extent]:
    """World AABBs of every collision geom that is not ``obj``'s nor the robot's."""
    m, d = env.model, env.data
    own = set(_geoms(env, obj)[0])
    out = []
    for g in range(m.ngeom):
        if g in own or (m.geom_contype[g] == 0 and m.geom_conaffinity[g] == 0):
            continue
        body = mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, int(m.geom_bodyid[g])) or ""
        if body.startswith(("robot0", "gripper0", "mount0")) or body in ("world", "table"):
            continue
        if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE:
            continue
        half = np.abs(d.geom_xmat[g].reshape(3, 3)) @ m.geom_size[g]
        if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH:
            half = np.full(3, m.geom_rbound[g])
        out.append(Extent(d.geom_xpos[g] - half, d.geom_xpos[g] + half))
    return out


def hand_hits(site: np.ndarray, axis: np.ndarray, boxes: list[Extent]) -> int:
    """How many obstacle boxes the open fingers and the hand would overlap with the grip site at ``site``."""
    tip_z = site[2] - FINGER_DROP
    across = np.array([-axis[1], axis[0], 0.0])
    parts = []
    for side in (1.0, -1.0):  # fingers: 2.4 cm square, from the tip up 5 cm
        centre = site + side * axis * FINGER_REACH
        parts.append((centre[:2], 0.012, 0.012, tip_z, tip_z + 0.05))
    parts.append((site[:2], 0.11, 0.035, tip_z + 0.05, tip_z + 0.13))  # the hand
    parts.append((site[:2], 0.06, 0.06, tip_z + 0.13, tip_z + 0.35))  # the wrist and forearm above it
    hits = 0
    for b in boxes:
        for xy, along, side_w, z0, z1 in parts:
            half = np.abs(axis[:2]) * along + np.abs(across[:2]) * side_w
            if (np.all(b.lo[:2] < xy + half) and np.all(b.hi[:2] > xy - half) and b.lo[2] < z1 and b.hi[2] > z0):
                hits += 1
    return hits


def _bodies(m) -> set[str]:
    return {mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, i) for i in range(m.nbody)}


def _under(m, body: int, root: int) -> bool:
    while body > 0:
        if body == root:
            return True
        body = m.body_parentid[body]
    return False


class LiberoExpert:
    """``act(subtask) -> (8,)`` absolute base-frame EE target + gripper, one 20 Hz step."""

    def __init__(self, env):
        self.env = env
        self.reset()

    def reset(self) -> None:
        self.subtask: Subtask | None = None
        self.phase = ""
        self.count = 0
        self.quat: np.ndarray | None = None  # the start orientation, held throughout
        self.grasp: np.ndarray | None = None  # world grasp point of the current pick
        self.hold_offset = 0.0  # held object's bottom minus the grip site's z
        self.in_free_space = True
        self.carrot: np.ndarray | None = None  # world point commanded last
        self.last_ee: np.ndarray | None = None  # grip site at the previous call
        self.still = 0  # calls the gripper has not moved with its command at the goal
        self.fallbacks: list[tuple[np.ndarray, float]] = []  # other rim grasps (point, yaw), best first
        self.last_z: float | None = None  # grip site height at the previous lowering call
        self.yaw = 0.0  # rad about z from the start orientation (rim grasps across x turn the hand)

    def can_take_over(self, subtask: Subtask) -> bool:
        return True

    def take_over(self, subtask: Subtask, prev_kind: str | None = None) -> None:
        self.subtask, self.phase, self.count, self.carrot = None, "", 0, None

    # ---- geometry -----------------------------------------------------------------
    def grasp_point(self, obj: str) -> np.ndarray:
        """World grip-site position that grasps ``obj`` from above."""
        e = extent(self.env, obj)
        c = e.centre.copy()
        if any(h in obj for h in HOLLOW):
            radius = 0.5 * min(e.hi[:2] - e.lo[:2])
            wall = 0.007  # the wall's middle, just inside the outer edge
            ee = self._ee()
            z = e.hi[2] - RIM_DEPTH + FINGER_DROP
            boxes = obstacles(self.env, obj)
            ranked = []  # rim points: fewest obstacles under the fingers and hand first, then the nearest
            for yaw in GRASP_YAWS:
                axis = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
                for side in (1.0, -1.0):
                    p = c + side * axis * (radius - wall)
                    p[2] = z
                    key = (hand_hits(p, axis, boxes), np.linalg.norm(ee[:2] - p[:2]) + 0.05 * abs(yaw))
                    ranked.append((key, len(ranked), p, yaw))
            ranked.sort(key=lambda r: r[:2])
            self.fallbacks = [(p, yaw) for _, _, p, yaw in ranked[1:]]
            c, self.yaw = ranked[0][2], ranked[0][3]
        else:
            depth = min(SOLID_DEPTH, 0.5 * (e.hi[2] - e.lo[2]))
            c[2] = e.hi[2] - depth + FINGER_DROP
        return c

    def place_point(self, obj: str, dest: str) -> np.ndarray:
        """World grip-site position that puts the held object's bottom just above ``dest``."""
        env = self.env
        if dest in env.raw.env.object_sites_dict:  # a region ('basket_1_contain_region', 'top_region' …)
            p = env._pos(dest).copy()
            parent = env.raw.env.object_sites_dict[dest].parent_name
            top = extent(env, parent).hi[2] if parent in env.raw.env.objects_dict else p[2]
            p[2] = top
        else:
            e = extent(env, dest)
            p = e.centre.copy()
            p[2] = e.hi[2]
        # the grasp is off the object's centre (a rim): put the object's centre, not the gripper, over dest
        held = extent(env, obj).centre
        p[:2] += self._ee()[:2] - held[:2]
        p[2] += DROP_HEIGHT - self.hold_offset
        return p

    # ---- acting ------------------------------------------------------------------
    def _target(self, goal_world: np.ndarray, grip: float) -> np.ndarray:
        """A commanded point that moves toward ``goal_world`` at SPEED, leading the gripper by at
        most LEAD (OSC lags its command; commanding the goal itself would jump at 1 m/s)."""
        env = self.env
        ee = self._ee()
        carrot = ee if self.carrot is None else self.carrot
        step = goal_world - carrot
        n = np.linalg.norm(step)
        if n > SPEED:
            step *= SPEED / n
        carrot = carrot + step
        lead = carrot - ee
        if np.linalg.norm(lead) > LEAD:
            carrot = ee + lead * LEAD / np.linalg.norm(lead)
        self.carrot = carrot
        q = self.quat if self.yaw == 0 else quat_mul(np.array([np.cos(self.yaw / 2), 0, 0, np.sin(self.yaw / 2)]), self.quat)
        return np.concatenate([env.to_base(carrot), q, [grip]])

    def _ee(self) -> np.ndarray:
        """(3,) world position of the frame LIBERO's controller drives (a copy)."""
        return self.env.data.site(EE_SITE).xpos.copy()

    def _resting_on(self, goal_world: np.ndarray) -> bool:
        """The command is on ``goal_world`` and the gripper moved less than 1 mm since the last call."""
        still = self.last_ee is not None and np.linalg.norm(self._ee() - self.last_ee) < 0.001
        return still and self.carrot is not None and np.linalg.norm(self.carrot - goal_world) < 1e-6

    def _stalled(self, goal_world: np.ndarray) -> bool:
        """Commanded at ``goal_world`` but not moving for STALL_STEPS calls while still short of it."""
        self.still = self.still + 1 if self._resting_on(goal_world) else 0
        if self.still >= STALL_STEPS:
            self.still = 0
            return True
        return False

    def _at(self, goal_world: np.ndarray) -> bool:
        """Within REACHED of ``goal_world``, or as near as OSC gets: the command is there, the gripper has
        stopped within SETTLED (its steady-state error grows near the edge of the workspace)."""
        gap = np.linalg.norm(self._ee() - goal_world)
        return gap < REACHED or (gap < SETTLED and self._resting_on(goal_world))

    def act(self, subtask: Subtask) -> np.ndarray:
        a = self._act(subtask)
        self.last_ee = self._ee()
        return a

    def _act(self, subtask: Subtask) -> np.ndarray:
        env = self.env
        if self.quat is None:
            self.quat = env.observe().proprio.ee_quat.copy()
        if subtask != self.subtask:
            self.subtask, self.count = subtask, 0
            self.phase = {"pick": "above", "place": "carry"}.get(subtask.kind, "")
            if subtask.kind == "pick":
                self.yaw = 0.0
                self.grasp = self.grasp_point(subtask.target)
        if subtask.kind == "pick":
            return self._pick(subtask.target)
        if subtask.kind == "place":
            return self._place(subtask.target, subtask.dest)
        raise ValueError(f"the LIBERO expert cannot {subtask.kind} (only pick and place)")

    def _pick(self, obj: str) -> np.ndarray:
        g = self.grasp
        above = g + np.array([0, 0, HOVER])
        ee = self._ee()
        if self.phase == "above":
            self.in_free_space = True
            if self._at(above) or (np.linalg.norm(ee[:2] - g[:2]) < REACHED and ee[2] > g[2]):
                self.phase = "descend"
            return self._target(above, 0.0)
        self.in_free_space = False
        if self.phase == "descend":
            if self._at(g):
                self.phase, self.count = "close", 0
            elif self._stalled(g):  # the fingers rest on something: back up and try the next rim point
                if self.fallbacks:
                    self.grasp, self.yaw = self.fallbacks.pop(0)
                self.phase = "above"
            return self._target(self.grasp, 0.0)
        if self.phase == "close":
            self.count += 1
            if self.count >= CLOSE_STEPS:
                self.phase = "lift"
                self.hold_offset = extent(self.env, obj).lo[2] - ee[2]
            return self._target(g, 1.0)
        lift = g + np.array([0, 0, CARRY + 0.05])
        return self._target(lift, 1.0)

    def _place(self, obj: str, dest: str) -> np.ndarray:
        env = self.env
        ee = self._ee()
        p = self.place_point(obj, dest)
        carry_z = max(p[2] + CARRY, ee[2]) if self.phase == "carry" else p[2] + CARRY
        if self.phase == "carry":
            self.last_z = None
            self.in_free_space = True
            goal = np.array([p[0], p[1], carry_z])
            if np.linalg.norm(ee[:2] - p[:2]) < REACHED:
                self.phase = "lower"
            return self._target(goal, 1.0)
        self.in_free_space = False
        if self.phase == "lower":
            stalled = self.last_z is not None and abs(self.last_z - ee[2]) < 0.0005 and ee[2] < p[2] + 0.03
            self.last_z = ee[2]
            if self._at(p) or stalled:  # at the drop height, or the object already rests on something
                self.phase, self.count = "release", 0
            return self._target(p, 1.0)
        if self.phase == "release":
            self.count += 1
            if self.count >= CLOSE_STEPS:
                self.phase = "retreat"
            return self._target(p, 0.0)
        return self._target(p + np.array([0, 0, CARRY]), 0.0)
