"""LiberoEnv: the real LIBERO (robosuite + MuJoCo) behind our Env contract.

Actions are ours — absolute end-effector targets in the robot base frame, (8,) xyz, quaternion
wxyz, gripper (1 closes) — turned each step into LIBERO's OSC_POSE delta command (7,), clipped to
its ±1 range (±5 cm, ±0.5 rad per 20 Hz step). Success is LIBERO's own goal checker.

``reset(seed, task)`` follows the standard protocol: the task's ``seed % 50``-th stored initial
state, then 10 no-op steps (gripper open) that the step budget does not count.
"""

from __future__ import annotations

import mujoco
import numpy as np

from sim.envs.libero.suites import INIT_STATES, NOOP_STEPS, LiberoTask, check_suite, init_states, task_by_id, tasks
from vla_core.frames import mat_to_quat, quat_to_mat
from vla_core.observation import Observation, Proprio
from vla_core.plans.subtask import Subtask

CONTROL_HZ = 20
POS_SCALE = 0.05  # m per unit of OSC_POSE's position command
ROT_SCALE = 0.5  # rad per unit of its rotation command
EE_SITE = "gripper0_grip_site"  # the frame LIBERO's OSC controller drives
BASE_BODY = "robot0_base"
LIFTED = 0.03  # m above where the object started: a pick is done
CACHED_ENVS = 2  # LIBERO envs kept built (one takes ~5 s to make)
FINGERS = {"gripper0_leftfinger": "left", "gripper0_finger_joint1_tip": "left",
           "gripper0_rightfinger": "right", "gripper0_finger_joint2_tip": "right"}
# BDDL predicate → our subtask kind, for the unary goals of the goal suite
UNARY = {"open": "open", "close": "close", "turnon": "turn_on", "turnoff": "turn_off"}


def axis_angle(r: np.ndarray) -> np.ndarray:
    """(3, 3) rotation → (3,) axis × angle."""
    q = mat_to_quat(r)
    if q[0] < 0:
        q = -q
    s = np.linalg.norm(q[1:])
    if s < 1e-12:
        return np.zeros(3)
    return q[1:] / s * 2.0 * np.arctan2(s, q[0])


class LiberoEnv:
    """One suite of the real LIBERO; tasks are built on first use and kept (a few at a time)."""

    name = "libero"
    action_dim = 8

    def __init__(self, obs_mode: str = "privileged", cameras: tuple[str, ...] = (), image_size: int = 224,
                 suite: str = "spatial"):
        if obs_mode != "privileged":
            raise ValueError(f"LIBERO observations are 'privileged' (object poses from LIBERO's state), got {obs_mode!r}")
        self.suite = check_suite(suite)
        self.cameras = tuple(cameras)
        self.image_size = int(image_size)
        self._envs: dict[str, object] = {}  # bddl path → LIBERO env, most recent last
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self.task: LiberoTask | None = None
        self.raw = None  # the current LIBERO env (OffScreenRenderEnv)
        self.seed = 0
        self.steps = 0
        self._start: dict[str, np.ndarray] = {}
        self.geom_cache: dict = {}  # per-episode lookups of the current model (the expert's object geoms)

    # ---- LIBERO plumbing ----------------------------------------------------------
    def _libero_env(self, task: LiberoTask):
        if task.bddl in self._envs:
            self._envs[task.bddl] = self._envs.pop(task.bddl)  # most recent last
            return self._envs[task.bddl]
        from sim.envs.libero.install import import_libero

        import_libero()
        from libero.libero.envs import OffScreenRenderEnv

        while len(self._envs) >= CACHED_ENVS:
            old = self._envs.pop(next(iter(self._envs)))
            old.close()
        # cameras come from our own renderer (below): LIBERO's offscreen one is not built
        env = OffScreenRenderEnv(bddl_file_name=task.bddl, has_offscreen_renderer=False, use_camera_obs=False)
        self._envs[task.bddl] = env
        return env

    @property
    def model(self) -> mujoco.MjModel:
        return self.raw.env.sim.model._model

    @property
    def data(self) -> mujoco.MjData:
        return self.raw.env.sim.data._data

    def _base(self) -> tuple[np.ndarray, np.ndarray]:
        b = self.data.body(BASE_BODY)
        return b.xpos.copy(), b.xmat.reshape(3, 3).copy()

    def to_base(self, p_world: np.ndarray) -> np.ndarray:
        pos, rot = self._base()
        return (np.asarray(p_world, np.float64) - pos) @ rot

    def to_world(self, p_base: np.ndarray) -> np.ndarray:
        pos, rot = self._base()
        return np.asarray(p_base, np.float64) @ rot.T + pos

    def _ee_world(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.data.site(EE_SITE)
        return s.xpos.copy(), s.xmat.reshape(3, 3).copy()

    # ---- episode control --------------------------------------------------------------
    def reset(self, seed: int, task: LiberoTask | str | None = None) -> Observation:
        """``task``: a LiberoTask, a task id ('spatial/3'), its instruction, or None (task ``seed`` mod the suite)."""
        pool = tasks(self.suite)
        if task is None:
            task = pool[int(seed) % len(pool)]
        elif isinstance(task, str):
            matches = [t for t in pool if task in (t.task_id, t.instruction, t.name)]
            task = matches[0] if matches else task_by_id(task)
        self.task, self.seed, self.steps = task, int(seed), 0
        self.raw = self._libero_env(task)
        self.geom_cache = {}
        self.raw.reset()
        self.raw.set_init_state(init_states(task.task_id)[int(seed) % INIT_STATES])
        for _ in range(NOOP_STEPS):
            self.raw.step(np.array([0, 0, 0, 0, 0, 0, -1.0]))
        self._start = {n: self._pos(n) for n in self._names()}
        return self.observe()

    def step(self, action: np.ndarray) -> Observation:
        from vla_core.actions import ARM_DIM

        a = np.asarray(action, np.float64).reshape(-1)
        if a.shape[0] != ARM_DIM or not np.all(np.isfinite(a)):
            raise ValueError(f"a LIBERO action is {ARM_DIM} finite values (EE xyz, quat wxyz, gripper), got {a}")
        self.raw.step(self.osc_command(a))
        self.steps += 1
        return self.observe()

    def osc_command(self, action: np.ndarray) -> np.ndarray:
        """(8,) absolute base-frame target → LIBERO's (7,) OSC_POSE delta command in [-1, 1]."""
        pos_w, rot_w = self._ee_world()
        _, base_rot = self._base()
        target_pos = self.to_world(action[:3])
        target_rot = base_rot @ quat_to_mat(action[3:7])
        dpos = (target_pos - pos_w) / POS_SCALE
        drot = axis_angle(target_rot @ rot_w.T) / ROT_SCALE
        grip = 1.0 if action[7] > 0.5 else -1.0
        return np.concatenate([np.clip(dpos, -1, 1), np.clip(drot, -1, 1), [grip]])

    # ---- state ---------------------------------------------------------------------
    def _names(self) -> list[str]:
        """Objects, then the sites and fixtures the goals name (in that order, no repeats)."""
        e = self.raw.env
        names = list(e.objects_dict)
        for atom in self.task.goals:
            names += [n for n in atom[1:] if n not in names and n in e.object_states_dict]
        return names

    def _pos(self, name: str) -> np.ndarray:
        return np.asarray(self.raw.env.object_states_dict[name].get_geom_state()["pos"], np.float64).copy()

    def observe(self) -> Observation:
        d = self.data
        pos_w, rot_w = self._ee_world()
        _, base_rot = self._base()
        e = self.raw.env
        robot = e.robots[0]
        q = d.qpos[robot._ref_joint_pos_indexes].copy()
        fingers = d.qpos[robot._ref_gripper_joint_pos_indexes]
        names = self._names()
        kp = np.stack([self.to_base(self._pos(n)) for n in names]) if names else np.zeros((0, 3))
        proprio = Proprio(q, float(fingers[0] - fingers[1]), self.to_base(pos_w), mat_to_quat(base_rot.T @ rot_w),
                          np.zeros(3))
        rgb = {c: self.render(c, self.image_size, self.image_size) for c in self.cameras}
        return Observation(proprio, kp.astype(np.float64), tuple(names), self.task.instruction,
                           self.steps / CONTROL_HZ, rgb=rgb)

    def render(self, camera: str = "agentview", height: int = 240, width: int = 320) -> np.ndarray:
        """(H, W, 3) uint8 from one of LIBERO's cameras (agentview, robot0_eye_in_hand, …)."""
        key = (height, width)
        if key not in self._renderers:
            self._renderers[key] = mujoco.Renderer(self.model, height, width)
        r = self._renderers[key]
        if r.model is not self.model:  # another task's model: rebuild
            r.close()
            r = self._renderers[key] = mujoco.Renderer(self.model, height, width)
        r.update_scene(self.data, camera=camera)
        return r.render()

    def success(self) -> bool:
        return bool(self.raw.check_success())

    def goals_met(self) -> list[bool]:
        e = self.raw.env
        return [bool(e._eval_predicate(list(g))) for g in e.parsed_problem["goal_state"]]

    # ---- plans (oracle planner, scripted expert) ---------------------------------------
    def ground_truth_plan(self) -> list[Subtask]:
        steps = []
        for atom in self.task.goals:
            if atom[0] in ("on", "in") and len(atom) == 3:
                steps += [Subtask("pick", atom[1]), Subtask("place", atom[1], atom[2])]
            elif atom[0] in UNARY and len(atom) == 2:
                steps.append(Subtask(UNARY[atom[0]], atom[1]))
            else:
                raise ValueError(f"no plan for LIBERO goal {atom}")
        return steps

    def held(self, obj: str) -> bool:
        """Both fingers touch ``obj`` and it is off its starting height. (robosuite's own grasp check
        wants the finger pads; a bottle held higher up the fingers is held all the same.)"""
        if self._pos(obj)[2] <= self._start.get(obj, self._pos(obj))[2] + LIFTED:
            return False
        m, d = self.model, self.data
        own = m.body(f"{obj}_main").id  # LIBERO names every object's root body <name>_main
        touching = set()
        for c in d.contact[:d.ncon]:
            for mine, other in ((c.geom1, c.geom2), (c.geom2, c.geom1)):
                if self._root(int(m.geom_bodyid[mine])) == own:
                    side = FINGERS.get(m.body(int(m.geom_bodyid[other])).name)
                    if side:
                        touching.add(side)
        return touching == {"left", "right"}

    def _root(self, body: int) -> int:
        """The object body a (sub)body belongs to: the child of the world it hangs from."""
        m = self.model
        while m.body_parentid[body] != 0:
            body = int(m.body_parentid[body])
        return body

    def subtask_done(self, s: Subtask) -> bool:
        e = self.raw.env
        if s.kind == "pick":
            return self.held(s.target)
        if s.kind == "place":
            pred = next(a for a in self.task.goals if a[0] in ("on", "in") and a[1] == s.target)
            return bool(e._eval_predicate(list(pred))) and not self.held(s.target)
        inverse = {v: k for k, v in UNARY.items()}
        return bool(e._eval_predicate([inverse[s.kind], s.target]))

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()
