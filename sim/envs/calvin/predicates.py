"""What the CALVIN desk's state is and whether a task succeeded, from simulator state only.

CALVIN judges a subtask by comparing the scene when it started with the scene now (its Tasks
oracle); so do we: ``SceneInfo`` is one snapshot, ``task_success(name, start, now)`` the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

from sim.envs.calvin import catalog as C

SUPPORTS = {"desk_top": "table", "slider_floor": "slider", "drawer_floor": "drawer"}
ROTATE_MIN = np.deg2rad(60)  # a rotate task turns the block at least this far about z …
TILT_MAX = np.deg2rad(30)  # … without tipping it more than this
PUSH_MIN = 0.1  # m a pushed block moves sideways
SLIDER_MIN = 0.2  # m the lid moves (of 0.25): to the other bay, not just off this one
DRAWER_MIN = 0.12  # m the drawer moves (of 0.16)
LIFT_MIN = 0.05  # m above where the block started
STACK_DZ = 0.015  # the top block's centre is this much above the bottom one's at least


@dataclass
class SceneInfo:
    """One snapshot of everything a CALVIN task is judged on."""

    pos: dict[str, np.ndarray]  # block -> (3,) world position
    quat: dict[str, np.ndarray]  # block -> (4,) wxyz
    touches: dict[str, frozenset[str]]  # block -> supports ('table'|'slider'|'drawer'), other blocks, 'robot'
    fingers: dict[str, bool]  # block -> a finger touches it
    drawer: float  # m open
    slider: float  # m the door stands left of its right-bay position
    switch: float  # m the switch is up
    led: int
    lightbulb: int
    cabinet_y: float
    locations: dict[str, str] = field(default_factory=dict)

    def held(self, block: str) -> bool:
        return self.fingers[block]


def _geom_names(model: mujoco.MjModel) -> dict[int, str]:
    """geom id -> the name its contacts are reported under (support, block, or 'robot')."""
    out: dict[int, str] = {}
    for g in range(model.ngeom):
        name = model.geom(g).name
        body = model.body(model.geom_bodyid[g]).name
        if name in SUPPORTS:
            out[g] = SUPPORTS[name]
        elif body in C.BLOCK_BY_NAME:
            out[g] = body
        elif body.startswith("panda0_"):
            out[g] = "robot"
    return out


class SceneReader:
    """Reads SceneInfo from one model's data (ids resolved once)."""

    def __init__(self, model: mujoco.MjModel, finger_geoms: frozenset[int], cabinet_y: float):
        self.model = model
        self.names = _geom_names(model)
        self.fingers = finger_geoms
        self.cabinet_y = cabinet_y
        self.block_ids = {b.name: model.body(b.name).id for b in C.BLOCKS}
        self.qadr = {j: model.joint(f"{j}_joint").qposadr[0] for j in ("drawer", "slider", "switch")}

    def read(self, data: mujoco.MjData, led: int, lightbulb: int) -> SceneInfo:
        touches: dict[str, set[str]] = {b: set() for b in self.block_ids}
        fingers = {b: False for b in self.block_ids}
        for i in range(data.ncon):
            c = data.contact[i]
            a, b = self.names.get(c.geom1), self.names.get(c.geom2)
            for mine, other, og in ((a, b, c.geom2), (b, a, c.geom1)):
                if mine in touches and other is not None and other != mine:
                    touches[mine].add(other)
                    if og in self.fingers:
                        fingers[mine] = True
        info = SceneInfo(
            pos={b: data.xpos[i].copy() for b, i in self.block_ids.items()},
            quat={b: data.xquat[i].copy() for b, i in self.block_ids.items()},
            touches={b: frozenset(t) for b, t in touches.items()},
            fingers=fingers,
            drawer=float(data.qpos[self.qadr["drawer"]]),
            slider=float(data.qpos[self.qadr["slider"]]),
            switch=float(data.qpos[self.qadr["switch"]]),
            led=int(led), lightbulb=int(lightbulb), cabinet_y=self.cabinet_y,
        )
        info.locations = locations(info)
        return info


def locations(info: SceneInfo) -> dict[str, str]:
    """Each block's symbolic place: table | slider_left | slider_right | drawer | grasped |
    stacked_top | stacked_bottom | unknown (falling, on the floor, pinned between things)."""
    out: dict[str, str] = {}
    blocks = list(info.pos)
    for b in blocks:
        t = info.touches[b]
        under = [o for o in blocks if o != b and o in t and info.pos[b][2] - info.pos[o][2] > STACK_DZ]
        supports = t & {"table", "slider", "drawer"}
        if info.fingers[b] and not supports and not under:
            out[b] = "grasped"
        elif under:
            out[b] = "stacked_top"
        elif "slider" in supports:
            out[b] = "slider_left" if info.pos[b][1] > info.cabinet_y else "slider_right"
        elif "drawer" in supports:
            out[b] = "drawer"
        elif "table" in supports:
            out[b] = "table"
        else:
            out[b] = "unknown"
    for b in blocks:  # what a stacked block stands on
        if out[b] == "stacked_top":
            for o in blocks:
                if o != b and o in info.touches[b] and info.pos[b][2] > info.pos[o][2] and out[o] == "table":
                    out[o] = "stacked_bottom"
    return out


def symbolic_state(info: SceneInfo) -> dict:
    """The scene as CALVIN's symbolic state (tasks.SYMBOLS)."""
    state = {"led": info.led, "lightbulb": info.lightbulb,
             "slider": "left" if info.slider > C.DOOR_TRAVEL / 2 else "right",
             "drawer": "open" if info.drawer > C.DRAWER_TRAVEL / 2 else "closed"}
    state.update(info.locations)
    state["grasped"] = int(any(v == "grasped" for v in info.locations.values()))
    return state


def _yaw_tilt(q0: np.ndarray, q1: np.ndarray) -> tuple[float, float]:
    """Rotation from q0 to q1 (world frame): its angle about z and how far it tips z."""
    rel = np.empty(4)
    inv = np.empty(4)
    mujoco.mju_negQuat(inv, q0)
    mujoco.mju_mulQuat(rel, q1, inv)
    m = np.empty(9)
    mujoco.mju_quat2Mat(m, rel)
    m = m.reshape(3, 3)
    tilt = float(np.arccos(np.clip(m[2, 2], -1.0, 1.0)))
    yaw = float(np.arctan2(m[1, 0], m[0, 0]))
    return yaw, tilt


def _held_block(info: SceneInfo) -> str | None:
    return next((b for b, loc in info.locations.items() if loc == "grasped"), None)


def task_success(name: str, start: SceneInfo, now: SceneInfo) -> bool:
    """Whether CALVIN task ``name`` has been done between ``start`` and ``now``."""
    s, n = start.locations, now.locations
    if name.startswith(("rotate_", "push_")) and name != "push_into_drawer":
        verb, color, _, side = name.split("_")
        b = f"{color}_block"
        if s[b] != "table" or n[b] != "table":
            return False
        if verb == "rotate":
            yaw, tilt = _yaw_tilt(start.quat[b], now.quat[b])
            turned = yaw >= ROTATE_MIN if side == "left" else yaw <= -ROTATE_MIN
            return turned and tilt <= TILT_MAX and not now.held(b)
        dy = float(now.pos[b][1] - start.pos[b][1])
        return dy >= PUSH_MIN if side == "left" else dy <= -PUSH_MIN
    if name.startswith("lift_"):
        _, color, _, src = name.split("_")
        b = f"{color}_block"
        was = s[b] in ("slider_left", "slider_right") if src == "slider" else s[b] == src
        return (was and n[b] == "grasped" and now.pos[b][2] >= start.pos[b][2] + LIFT_MIN)
    if name in ("move_slider_left", "move_slider_right"):
        d = now.slider - start.slider
        return d >= SLIDER_MIN if name.endswith("left") else d <= -SLIDER_MIN
    if name in ("open_drawer", "close_drawer"):
        d = now.drawer - start.drawer
        return d >= DRAWER_MIN if name == "open_drawer" else d <= -DRAWER_MIN
    if name in ("place_in_slider", "place_in_drawer"):
        b = _held_block(start)
        want = ("slider_left", "slider_right") if name.endswith("slider") else ("drawer",)
        return b is not None and n[b] in want and not now.held(b)
    if name == "push_into_drawer":
        return any(s[b] == "table" and n[b] == "drawer" and not now.held(b) for b in s)
    if name == "stack_block":
        b = _held_block(start)
        return b is not None and n[b] == "stacked_top" and not now.held(b)
    if name == "unstack_block":
        for b in s:
            if s[b] == "stacked_top":
                bottoms = [o for o in s if s[o] == "stacked_bottom" and o in start.touches[b]]
                return n[b] == "table" and not now.held(b) and not any(o in now.touches[b] for o in bottoms)
        return False
    if name in ("turn_on_lightbulb", "turn_off_lightbulb"):
        on = name == "turn_on_lightbulb"
        return start.lightbulb == (not on) and now.lightbulb == on
    if name in ("turn_on_led", "turn_off_led"):
        on = name == "turn_on_led"
        return start.led == (not on) and now.led == on
    raise ValueError(f"unknown CALVIN task {name!r}")
