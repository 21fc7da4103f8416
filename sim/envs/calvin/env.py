"""CalvinEnv: our MuJoCo re-creation of CALVIN's desk, behind the bench Env contract.

A Franka on a fixed pedestal (kitchen_r's Panda and Cartesian controller with the base held:
8-D absolute EE targets in the base frame, 10 Hz). CALVIN's long-horizon protocol runs five
subtasks without a reset between them: ``reset`` starts a chain from a symbolic start state,
``set_task`` moves on to the next instruction from wherever the scene is.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from sim.envs.calvin import catalog as C
from sim.envs.calvin import predicates as P
from sim.envs.calvin import tasks as T
from sim.envs.calvin.scene import LIGHT_PARK_Z, load_model
from sim.envs.kitchen_r.robot import HOME_Q, CartesianController, MobilePanda, yaw_quat
from vla_core.observation import Observation, Proprio
from vla_core.plans.subtask import Subtask

CONTROL_HZ = 10
SETTLE_STEPS = 150  # physics steps after placing the blocks
BUTTON_PRESSED = 0.7 * C.BUTTON_TRAVEL  # the LED toggles when the button goes this deep
BUTTON_RELEASED = 0.3 * C.BUTTON_TRAVEL  # … and arms again once it is back above this
SWITCH_ON = C.SWITCH_TRAVEL / 2  # the bulb is lit while the switch is above this
KEYPOINT_NAMES: tuple[str, ...] = (
    *(b.name for b in C.BLOCKS), "drawer_handle", "drawer_inside", "slider_handle", "slider_left_bay",
    "slider_right_bay", "switch", "button",
)
STATE_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION
MIN_GAP = 0.09  # m between block centres when they start on the table


@dataclass
class EnvState:
    """Everything needed to continue bit-exactly (robomimic's reset_to contract)."""

    task: str
    seed: int
    step: int
    physics: np.ndarray
    controller: np.ndarray
    button_armed: bool

    def to_dict(self) -> dict:
        return {"task": self.task, "seed": self.seed, "step": self.step, "physics": self.physics.tolist(),
                "controller": self.controller.tolist(), "button_armed": self.button_armed}

    @classmethod
    def from_dict(cls, d: dict) -> "EnvState":
        return cls(str(d["task"]), int(d["seed"]), int(d["step"]), np.asarray(d["physics"], dtype=np.float64),
                   np.asarray(d["controller"], dtype=np.float64), bool(d["button_armed"]))


class CalvinEnv:
    name = "calvin"
    action_dim = 8

    def __init__(self, layout: str = C.TEST_LAYOUT, obs_mode: str = "privileged", cameras: tuple[str, ...] = (),
                 image_size: int = 224):
        if obs_mode != "privileged":
            raise ValueError(f"CALVIN observations are privileged (block and fixture poses), got obs_mode={obs_mode!r}")
        self.layout = C.LAYOUTS[C.check_layout(layout)]
        self.model = load_model(self.layout.name)
        self.data = mujoco.MjData(self.model)
        self.robot = MobilePanda(self.model)
        self.dt = 1.0 / CONTROL_HZ
        self.n_substeps = int(round(self.dt / self.model.opt.timestep))
        self.controller = CartesianController(self.robot, self.dt)
        self.reader = P.SceneReader(self.model, self.robot.finger_geoms, self.layout.cabinet_y)
        self.cameras = tuple(cameras)
        self.image_size = image_size
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        m = self.model
        self._adr = {j: m.joint(f"{j}_joint").qposadr[0] for j in ("drawer", "slider", "switch", "button")}
        self._mocap = {k: m.body(f"{k}_light").mocapid[0] for k in ("led", "bulb")}
        self._kp = [("body", m.body(b.name).id) for b in C.BLOCKS] + [
            ("site", m.site("drawer_handle_site").id), ("site", m.site("drawer_site").id),
            ("site", m.site("slider_handle_site").id),
            *(("point", (sum(C.CABINET_X) / 2, self.layout.bay_y(bay), C.BAY_FLOOR)) for bay in ("left", "right")),
            ("site", m.site("switch_site").id), ("site", m.site("button_site").id)]
        self.task: T.CalvinTask | None = None
        self.seed = 0
        self.steps = 0
        self.button_armed = True
        self.start_info: P.SceneInfo | None = None

    # ---- lights ------------------------------------------------------------------------
    @property
    def led(self) -> int:
        return int(self.data.mocap_pos[self._mocap["led"], 2] > LIGHT_PARK_Z / 2)

    @property
    def lightbulb(self) -> int:
        return int(self.data.qpos[self._adr["switch"]] > SWITCH_ON)

    def _show_bulb(self) -> None:
        """The bulb is lit while the switch is up (the LED keeps its state: _set_led)."""
        bx, by, bz = self.layout.bulb_xyz
        self.data.mocap_pos[self._mocap["bulb"]] = (bx, by, bz if self.lightbulb else LIGHT_PARK_Z)

    def _set_led(self, on: bool) -> None:
        lx, ly = self.layout.led_xy
        self.data.mocap_pos[self._mocap["led"]] = (lx, ly, C.DESK_TOP + 0.022 if on else LIGHT_PARK_Z)

    # ---- episode control ---------------------------------------------------------------
    def reset(self, seed: int, task: T.CalvinTask | str | None = None, start: dict | None = None) -> Observation:
        """A fresh scene from symbolic ``start`` (a random valid start state when None) and its
        first instruction ``task`` (a random one that applies when None)."""
        rng = np.random.default_rng(seed)
        if start is None:
            states = T.start_states()
            start = dict(states[int(rng.integers(len(states)))])
        if not T.valid_start(start):
            raise ValueError(f"not a valid CALVIN start state: {start}")
        self.seed, self.steps = int(seed), 0
        self._build(start, rng)
        return self.set_task(task if task is not None else self._random_task(start, rng))

    def _random_task(self, state: dict, rng: np.random.Generator) -> str:
        options = [t for t in T.TASK_NAMES if T.applicable(state, t) is not None]
        return options[int(rng.integers(len(options)))]

    def set_task(self, task: T.CalvinTask | str) -> Observation:
        """The next instruction of a chain: judged from the scene as it stands now."""
        self.task = task if isinstance(task, T.CalvinTask) else T.task_by_id(task)
        self.steps = 0
        self.start_info = self.scene_info()
        return self.observe()

    def _build(self, start: dict, rng: np.random.Generator) -> None:
        m, d, r = self.model, self.data, self.robot
        mujoco.mj_resetData(m, d)
        d.qpos[r.arm_qpos] = HOME_Q
        d.qpos[r.finger_qpos] = 0.04
        d.qpos[self._adr["slider"]] = C.DOOR_TRAVEL if start["slider"] == "left" else 0.0
        d.qpos[self._adr["drawer"]] = rng.uniform(0.13, C.DRAWER_TRAVEL) if start["drawer"] == "open" else 0.0
        d.qpos[self._adr["switch"]] = C.SWITCH_TRAVEL if start["lightbulb"] else 0.0
        self._set_led(bool(start["led"]))
        placed: list[np.ndarray] = []
        for b in C.BLOCKS:
            adr = m.joint(f"{b.name}_joint").qposadr[0]
            where = start[b.name]
            if where == "table":
                xy = self._free_table_spot(placed, rng)
                placed.append(xy)
                z = C.DESK_TOP + b.half[2] + 0.001
                yaw = rng.uniform(-np.pi / 4, np.pi / 4)
            else:  # a bay of the cabinet, on its floor board
                bay = where.split("_")[1]
                xy = np.array([sum(C.CABINET_X) / 2 + rng.uniform(-0.02, 0.02),
                               self.layout.bay_y(bay) + rng.uniform(-0.03, 0.03)])
                z = C.BAY_FLOOR + b.half[2] + 0.001
                yaw = rng.uniform(-np.pi / 8, np.pi / 8)
            d.qpos[adr:adr + 3] = (xy[0], xy[1], z)
            d.qpos[adr + 3:adr + 7] = yaw_quat(yaw)
        mujoco.mj_forward(m, d)
        self.controller.reset(d)
        self.button_armed = True
        self._show_bulb()
        for _ in range(SETTLE_STEPS):
            mujoco.mj_step(m, d)

    def _free_table_spot(self, placed: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
        button = np.array(self.layout.button_xy)
        for _ in range(1000):
            xy = np.array([rng.uniform(*C.TABLE_X), rng.uniform(*C.TABLE_Y)])
            if np.linalg.norm(xy - button) > 0.1 and all(np.linalg.norm(xy - p) > MIN_GAP for p in placed):
                return xy
        raise RuntimeError("no free spot on the desk")  # cannot happen for three blocks

    def get_state(self) -> EnvState:
        assert self.task is not None, "reset() first"
        phys = np.empty(mujoco.mj_stateSize(self.model, STATE_SPEC))
        mujoco.mj_getState(self.model, self.data, phys, STATE_SPEC)
        return EnvState(self.task.name, self.seed, self.steps, phys, self.controller.state(), self.button_armed)

    def reset_to(self, state: EnvState) -> Observation:
        """Continue from ``state``; the restored scene is the task's start (as after set_task)."""
        mujoco.mj_resetData(self.model, self.data)
        mujoco.mj_setState(self.model, self.data, state.physics, STATE_SPEC)
        mujoco.mj_forward(self.model, self.data)
        self.controller.set_state(state.controller)
        self.button_armed = state.button_armed
        self.seed = state.seed
        obs = self.set_task(state.task)
        self.steps = state.step
        return obs

    def step(self, action: np.ndarray) -> Observation:
        """``action``: (8,) EE xyz, quaternion wxyz (base frame), gripper 0 open … 1 closed."""
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape[0] != self.action_dim:
            raise ValueError(f"CALVIN takes {self.action_dim}-D arm actions, got {a.shape[0]}")
        self.controller.apply(self.data, a)  # validates finiteness
        button = self._adr["button"]
        for _ in range(self.n_substeps):
            mujoco.mj_step(self.model, self.data)
            depth = self.data.qpos[button]
            if self.button_armed and depth > BUTTON_PRESSED:
                self._set_led(not self.led)
                self.button_armed = False
            elif not self.button_armed and depth < BUTTON_RELEASED:
                self.button_armed = True
        self._show_bulb()
        self.steps += 1
        return self.observe()

    # ---- task status --------------------------------------------------------------------
    def scene_info(self) -> P.SceneInfo:
        return self.reader.read(self.data, self.led, self.lightbulb)

    def symbolic_state(self) -> dict:
        return P.symbolic_state(self.scene_info())

    def success(self) -> bool:
        assert self.task is not None and self.start_info is not None, "reset() first"
        return P.task_success(self.task.name, self.start_info, self.scene_info())

    def goals_met(self) -> list[bool]:
        return [self.success()]

    def ground_truth_plan(self) -> list[Subtask]:
        assert self.task is not None, "reset() first"
        return [T.subtask_for(self.task.name, P.symbolic_state(self.start_info))]

    def subtask_done(self, s: Subtask) -> bool:
        return self.success()

    # ---- observations -------------------------------------------------------------------
    def keypoints_world(self) -> np.ndarray:
        """(K, 3) privileged keypoints (KEYPOINT_NAMES) in the world frame."""
        d = self.data
        return np.array([d.xpos[i] if kind == "body" else d.site_xpos[i] if kind == "site" else i
                         for kind, i in self._kp], dtype=np.float64)

    def observe(self) -> Observation:
        d, r = self.data, self.robot
        ee_pos, ee_quat = r.ee_base(d)
        b = r.base(d)
        proprio = Proprio(r.arm_q(d), r.gripper_width(d), ee_pos, ee_quat, np.array([b.x, b.y, b.yaw]))
        kps = r.world_to_base(d, self.keypoints_world())
        rgb = {cam: self.render(cam, self.image_size, self.image_size) for cam in self.cameras}
        return Observation(proprio, kps.astype(np.float32), KEYPOINT_NAMES,
                           self.task.instruction if self.task else "", self.steps * self.dt, rgb, {})

    def render(self, camera: str = "static", height: int = 240, width: int = 320) -> np.ndarray:
        key = (height, width)
        if key not in self._renderers:
            self._renderers[key] = mujoco.Renderer(self.model, height, width)
        ren = self._renderers[key]
        ren.update_scene(self.data, camera=camera)
        return ren.render()

    def close(self) -> None:
        for ren in self._renderers.values():
            ren.close()
        self._renderers.clear()


def play_chain(env: CalvinEnv, loop, chain: T.Chain, before=None):
    """CALVIN's way through a chain: its start state, then each instruction run by ``loop`` (a
    RuntimeLoop on ``env``) from wherever the previous one left the scene, no reset. Yields each
    instruction's Outcome; the caller stops where it wants (the protocol: at the first failure).
    ``before(i)`` runs before instruction i."""
    obs = env.reset(chain.index, chain.tasks[0], start=chain.start_state)
    for i, name in enumerate(chain.tasks):
        if i:
            obs = env.set_task(name)
        if before is not None:
            before(i)
        yield loop.run_from(obs)


__all__ = ["CalvinEnv", "EnvState", "KEYPOINT_NAMES", "CONTROL_HZ", "play_chain"]
