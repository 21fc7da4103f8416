"""KitchenREnv: the Kitchen-R-style mobile-manipulation benchmark in MuJoCo.

10 Hz control of a Panda on a holonomic base; deterministic for a seed;
``reset_to(state)`` replays an episode exactly (robomimic's contract).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r import predicates as P
from sim.envs.kitchen_r.layout import Layout, sample_layout
from sim.envs.kitchen_r.robot import HOME_Q, CartesianController, MobilePanda, yaw_quat
from sim.envs.kitchen_r.perturb import KNOCKED, VARIANTS, perturb_layout
from sim.envs.kitchen_r.scene import OBSTACLE_PARK, PARK_ORIGIN, load_model
from sim.envs.kitchen_r.tasks import ACTIVATING, FIXTURE_VERBS, Goal, Task, all_tasks, plan_steps, task_by_id, task_by_instruction
from vla_core.observation import Observation, Proprio
from vla_core.plans.subtask import Subtask

CONTROL_HZ = 10
SETTLE_STEPS = 100  # physics steps (0.2 s) after placing objects
KEYPOINT_NAMES: tuple[str, ...] = (
    tuple(o.name for o in C.OBJECTS)
    + tuple(r.name for r in C.RECEPTACLES)
    + tuple(f"{f.name}_handle" for f in C.ALL_FIXTURES)
    + tuple(s.name for s in C.SURFACES)
)
STATE_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION


@dataclass
class EnvState:
    """Everything needed to continue an episode bit-exactly; JSON-serialisable via to_dict."""

    task_id: str
    seed: int
    step: int
    physics: np.ndarray  # mj_getState(mjSTATE_INTEGRATION)
    controller: np.ndarray  # (10,) commanded base pose + arm joint targets
    layout: dict
    collided: bool = False  # the perturbed split's obstacle was touched

    def to_dict(self) -> dict:
        return {"task_id": self.task_id, "seed": self.seed, "step": self.step,
                "physics": self.physics.tolist(), "controller": self.controller.tolist(), "layout": self.layout,
                "collided": self.collided}

    @classmethod
    def from_dict(cls, d: dict) -> "EnvState":
        return cls(d["task_id"], int(d["seed"]), int(d["step"]), np.asarray(d["physics"], dtype=np.float64),
                   np.asarray(d["controller"], dtype=np.float64), d["layout"], bool(d.get("collided", False)))


class KitchenREnv:
    """Observation modes: 'privileged' keypoints from simulator state (fast) or 'depth'
    keypoints from the head camera's depth + segmentation through open3d."""

    name = "kitchen_r"
    action_dim = 10

    def __init__(self, obs_mode: str = "privileged", cameras: tuple[str, ...] = (), image_size: int = 224):
        if obs_mode not in ("privileged", "depth"):
            raise ValueError(f"obs_mode must be 'privileged' or 'depth', got {obs_mode!r}")
        self.model = load_model()
        self.data = mujoco.MjData(self.model)
        self.robot = MobilePanda(self.model)
        self.dt = 1.0 / CONTROL_HZ
        self.n_substeps = int(round(self.dt / self.model.opt.timestep))
        self.controller = CartesianController(self.robot, self.dt)
        self.obs_mode = obs_mode
        self.cameras = tuple(cameras)
        self.image_size = image_size
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self._keypointer = None
        self.task: Task | None = None
        self.layout: Layout | None = None
        self.seed = 0
        self.steps = 0
        self._kp_ids = self._keypoint_ids()
        self.variant: str | None = None  # the perturbed split's variant for the next reset (perturb.py)
        self._obstacle_mocap = self.model.body("obstacle").mocapid[0]
        self._obstacle_geom = self.model.geom("obstacle").id
        self.collided = False  # something touched the obstacle this episode

    def set_variant(self, variant: str | None) -> None:
        """Perturb the episodes that follow (None: the ordinary scene)."""
        if variant is not None and variant not in VARIANTS:
            raise ValueError(f"unknown perturbation {variant!r}; choose from {', '.join(VARIANTS)}")
        self.variant = variant

    # ---- episode control ---------------------------------------------------------
    def reset(self, seed: int, task: Task | str | None = None) -> Observation:
        """Start an episode. ``task``: a Task, an instruction, a task id, or None (random)."""
        rng = np.random.default_rng(seed)
        if task is None:
            tasks = all_tasks()
            task = tasks[int(rng.integers(len(tasks)))]
        elif isinstance(task, str):
            task = task_by_id(task) if "/" in task and " " not in task else task_by_instruction(task)
        self.task, self.seed, self.steps = task, int(seed), 0
        self.layout = sample_layout(task, rng)
        if self.variant is not None:  # its own stream: the rest of the scene is the unperturbed episode's
            perturb_layout(self.layout, task, self.variant, np.random.default_rng([int(seed), 1]))
        self._apply_layout(self.layout)
        return self.observe()

    def _apply_layout(self, layout: Layout) -> None:
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        d.qpos[self.robot.base_qpos] = layout.base
        d.qpos[self.robot.arm_qpos] = HOME_Q
        d.qpos[self.robot.finger_qpos] = 0.04
        for name, value in layout.fixtures.items():
            f = C.FIXTURE_BY_NAME[name]
            d.qpos[m.joint(f.joint).qposadr[0]] = value
            if f.coupled is not None:  # the joint Franka Kitchen's equality constraint slaves to it
                partner, ratio = f.coupled
                d.qpos[m.joint(partner).qposadr[0]] = value / ratio
        for i, name in enumerate([o.name for o in C.OBJECTS] + [r.name for r in C.RECEPTACLES]):
            adr = m.joint(f"{name}_joint").qposadr[0]
            if name in layout.objects:
                p = layout.objects[name]
                h = C.SURFACE_BY_NAME[p.surface].height
                z = h + (0.006 if name in C.RECEPTACLE_BY_NAME else C.OBJECT_BY_NAME[name].half_height + 0.002)
                d.qpos[adr:adr + 3] = (p.x, p.y, z)
                d.qpos[adr + 3:adr + 7] = yaw_quat(p.yaw)
            else:  # parked out of sight
                d.qpos[adr:adr + 3] = (PARK_ORIGIN[0] + 0.2 * i, PARK_ORIGIN[1] + 2.0, 0.2)
                d.qpos[adr + 3:adr + 7] = (1, 0, 0, 0)
        d.mocap_pos[self._obstacle_mocap] = layout.obstacle[:3] if layout.obstacle else OBSTACLE_PARK
        self.collided = False
        mujoco.mj_forward(m, d)
        self.controller.reset(d)
        for _ in range(SETTLE_STEPS):
            mujoco.mj_step(m, d)

    def get_state(self) -> EnvState:
        assert self.task is not None and self.layout is not None, "reset() first"
        phys = np.empty(mujoco.mj_stateSize(self.model, STATE_SPEC))
        mujoco.mj_getState(self.model, self.data, phys, STATE_SPEC)
        return EnvState(self.task.task_id, self.seed, self.steps, phys, self.controller.state(), self.layout.to_dict(),
                        self.collided)

    def reset_to(self, state: EnvState) -> Observation:
        self.task = task_by_id(state.task_id)
        self.seed, self.steps = state.seed, state.step
        self.layout = Layout.from_dict(state.layout)
        mujoco.mj_resetData(self.model, self.data)
        mujoco.mj_setState(self.model, self.data, state.physics, STATE_SPEC)
        mujoco.mj_forward(self.model, self.data)
        self.controller.set_state(state.controller)
        self.collided = bool(state.collided)
        return self.observe()

    def step(self, action: np.ndarray) -> Observation:
        """``action``: (10,) mobile layout, or (8,) arm-only with the base held (vla_core.actions)."""
        self.controller.apply(self.data, action)  # validates shape and finiteness first
        watch = self.layout is not None and self.layout.obstacle is not None
        for _ in range(self.n_substeps):
            mujoco.mj_step(self.model, self.data)
            if watch and not self.collided:
                self.collided = bool(np.any(self.data.contact.geom[: self.data.ncon] == self._obstacle_geom))
        self.steps += 1
        return self.observe()

    # ---- task status -------------------------------------------------------------
    def goals_met(self) -> list[bool]:
        assert self.task is not None, "reset() first"
        return [P.goal_met(self.model, self.data, g, base_qpos=self.robot.base_qpos,
                           finger_geoms=self.robot.finger_geoms) for g in self.task.goals]

    def violations(self) -> list[str]:
        """What the perturbed split forbids and this episode did: touching the obstacle, knocking
        a clutter object out of place. Empty for ordinary episodes."""
        out = ["touched the obstacle"] if self.collided else []
        for name, (x, y) in (self.layout.watch if self.layout else {}).items():
            if np.hypot(*(P.body_pos(self.model, self.data, name)[:2] - (x, y))) > KNOCKED:
                out.append(f"knocked the {name.replace('_', ' ')}")
        return out

    def success(self) -> bool:
        return all(self.goals_met()) and not self.violations()

    def fits(self, s: Subtask) -> bool:
        """Whether this scene can hold ``s``: a learned planner may compose one it cannot ('drive to the blue
        block', 'pick the microwave', an object this layout does not have)."""
        placed = lambda n: n in self.layout.objects  # noqa: E731
        if s.kind == "navigate":
            return s.target in C.AREA_BY_NAME or s.target in C.FIXTURE_BY_NAME
        if s.kind in ("pick", "place") and not (s.target in C.OBJECT_BY_NAME and placed(s.target)):
            return False
        if s.kind == "pick":
            return True
        if s.kind == "place":
            return s.dest in C.SURFACE_BY_NAME or (s.dest in C.RECEPTACLE_BY_NAME and placed(s.dest))
        f = C.FIXTURE_BY_NAME.get(s.target)  # and the verb its kind takes: no 'turn on the microwave'
        return f is not None and s.kind in FIXTURE_VERBS[f.kind]

    def subtask_done(self, s: Subtask) -> bool:
        """Whether a subtask is complete, from simulator state (never, for one the scene cannot hold)."""
        if not self.fits(s):
            return False
        m, d, r = self.model, self.data, self.robot
        if s.kind == "navigate":  # docked: tighter than the task's 'at' goal, and stopped
            return P.base_at(m, d, s.target, r.base_qpos, tol_xy=P.DOCKED_TOL_XY, tol_yaw=P.DOCKED_TOL_YAW) and bool(
                np.linalg.norm(d.qvel[r.base_qpos]) < P.DOCKED_SPEED)
        if s.kind == "pick":
            support = C.SURFACE_BY_NAME[self.layout.objects[s.target].surface].height
            lifted = P.body_pos(m, d, s.target)[2] > support + C.OBJECT_BY_NAME[s.target].half_height + 0.08
            return bool(lifted and P.is_held(m, d, s.target, r.finger_geoms))
        if s.kind == "place":
            kind = "in" if s.dest in C.RECEPTACLE_BY_NAME else "on"
            return P.goal_met(m, d, Goal(kind, s.target, s.dest), base_qpos=r.base_qpos, finger_geoms=r.finger_geoms)
        active = s.kind in ACTIVATING
        # let go first, so the next subtask never drags the handle along
        return P.fixture_active(m, d, s.target) is active and P.fingers_free(m, d, r.finger_geoms)

    def substep_text(self, s: Subtask) -> str:
        """The fine-grained instruction for the sub-step ``s`` is in, from simulator state."""
        from sim.envs.kitchen_r.substeps import substep_text

        return substep_text(self, s)

    def reward_program(self, s: Subtask, obs: Observation) -> dict | None:
        """The oracle's VLS reward-program spec for ``s`` from scene state (None for navigation)."""
        from sim.envs.kitchen_r.programs import oracle_program

        support = None
        name = s.target if s.kind == "pick" else (s.dest if s.kind == "place" else None)
        if name in C.SURFACE_BY_NAME:
            support = C.SURFACE_BY_NAME[name].height
        elif name in self.layout.objects:
            support = C.SURFACE_BY_NAME[self.layout.objects[name].surface].height
        obstacles = ()
        if self.layout.obstacle is not None:
            x, y, z, r = self.layout.obstacle
            obstacles = ((self.robot.world_to_base(self.data, np.array([x, y, z])), r),)
        return oracle_program(obs, s, support, obstacles)

    def oracle_path(self, s: Subtask, prev_kind: str | None = None) -> np.ndarray:
        """(T, 4) world EE xyz + gripper the scripted expert would follow from here to finish ``s``."""
        from sim.experts.lookahead import expert_path

        return expert_path(self, s, prev_kind)

    def ground_truth_plan(self) -> list[Subtask]:
        assert self.task is not None and self.layout is not None, "reset() first"
        return plan_steps(self.task.goals, self.layout.where())

    # ---- observations ------------------------------------------------------------
    def _keypoint_ids(self) -> list[tuple[str, int]]:
        out = []
        for name in KEYPOINT_NAMES:
            if name.endswith("_handle"):
                out.append(("site", self.model.site(C.FIXTURE_BY_NAME[name[:-7]].handle_site).id))
            elif name in C.SURFACE_BY_NAME:
                out.append(("site", self.model.site(f"{name}_site").id))
            else:
                out.append(("body", self.model.body(name).id))
        return out

    def keypoints_world(self) -> np.ndarray:
        """(K, 3) privileged keypoints in the world frame; NaN for objects not in this episode."""
        d = self.data
        pts = np.array([d.site_xpos[i] if kind == "site" else d.xpos[i] for kind, i in self._kp_ids])
        placed = set(self.layout.objects) if self.layout else set()
        for k, name in enumerate(KEYPOINT_NAMES):
            if (name in C.OBJECT_BY_NAME or name in C.RECEPTACLE_BY_NAME) and name not in placed:
                pts[k] = np.nan
        return pts

    def observe(self) -> Observation:
        d, r = self.data, self.robot
        ee_pos, ee_quat = r.ee_base(d)
        b = r.base(d)
        proprio = Proprio(r.arm_q(d), r.gripper_width(d), ee_pos, ee_quat, np.array([b.x, b.y, b.yaw]))
        depth = {}
        if self.obs_mode == "depth":
            world = self._depth_keypoints()
            depth["head"] = self._keypointer.last_depth.copy()
        else:
            world = self.keypoints_world()
        kps = r.world_to_base(d, world)
        rgb = {cam: self.render(cam, self.image_size, self.image_size) for cam in self.cameras}
        return Observation(proprio, kps.astype(np.float32), KEYPOINT_NAMES,
                           self.task.instruction if self.task else "", self.steps * self.dt, rgb, depth)

    def _depth_keypoints(self) -> np.ndarray:
        if self._keypointer is None:
            from sim.envs.kitchen_r.perception import DepthKeypointer

            self._keypointer = DepthKeypointer(self.model, "head", self.image_size, KEYPOINT_NAMES)
        return self._keypointer(self.data)

    def renderer(self, height: int, width: int) -> mujoco.Renderer:
        key = (height, width)
        if key not in self._renderers:
            self._renderers[key] = mujoco.Renderer(self.model, height, width)
        return self._renderers[key]

    def render(self, camera: str = "overview", height: int = 240, width: int = 320) -> np.ndarray:
        """(H, W, 3) uint8 RGB from a named camera ('overview', 'head')."""
        r = self.renderer(height, width)
        r.update_scene(self.data, camera=camera)
        return r.render()

    def close(self) -> None:
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()
        if self._keypointer is not None:
            self._keypointer.close()
            self._keypointer = None


__all__ = ["KitchenREnv", "EnvState", "KEYPOINT_NAMES", "CONTROL_HZ"]
