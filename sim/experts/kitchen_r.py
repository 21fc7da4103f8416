"""Scripted kitchen_r demonstrators with privileged state, one per subtask kind.

Each subtask is a small state machine of phases; every call to ``act`` returns one
10-D action (base v, ω, EE xyz + quat wxyz in the base frame, gripper). The EE
command moves toward the phase target at a bounded speed so demonstrations are
smooth enough to learn from.
"""

from __future__ import annotations

import mujoco
import numpy as np

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r import predicates as P
from sim.envs.kitchen_r.layout import footprint, free_spot, roomiest_spot
from sim.envs.kitchen_r.robot import quat_mul, quat_to_mat, wrap_angle, yaw_quat
from sim.envs.kitchen_r.tasks import ACTIVATING
from vla_core.plans.subtask import Subtask

DOWN = np.array([0.0, 1.0, 0.0, 0.0])  # EE z pointing down, fingers closing along base y
CARRY = np.array([0.55, 0.0, 1.35])  # EE carry position in the base frame
EE_SPEED = 0.03  # m per 10 Hz step
PAD_BELOW_SITE = 0.015  # grasp-zone centre below the EE site
TIP_BELOW_SITE = 0.055  # fingertips below the EE site (plus margin)
DOCK_BACKOFF = 0.8  # m: approach an area straight from this far back
LOCAL_BACKOFF = 0.35  # m: for a sidestep between docks along one counter
ROT_SPEED = 0.2  # rad per step
WIDE_DOT = 0.26  # |q·target| below this is a turn of 150-210°: its shorter way is a toss-up decided by rounding
ROT_SPEED_WIDE = 0.12  # rad per step while a turn is over 100° (SLOW_DOT): a 16-step chunk spans well under a half turn
SLOW_DOT = float(np.cos(np.radians(50.0)))
FINGER_ROOM = 0.04  # m added around a placed object
SETTLE_STEPS = 12  # steps an EE target may stay unreached before the phase moves on
REACH_BACK = 0.5  # m: EE x (base frame) to line up at before reaching in
DOOR_SKEW = 0.7  # rad: most a door handle is grasped off its normal
KNOB_PITCH = 0.9  # rad below level for knob grasps
KNOB_PITCH_LOW = 0.6  # the bottom row, turning on
KNOB_LOW_ROW_Z = 1.58  # m: knobs below this are the bottom row
KNOB_PITCH_OFF = -0.9  # turning off from below: from above a finger catches the knob overhead


def down_quat(yaw: float) -> np.ndarray:
    return quat_mul(yaw_quat(yaw), DOWN)


class KitchenRExpert:
    """Privileged demonstrator. ``act(subtask)`` → (10,) action; phases reset when the subtask changes."""

    def __init__(self, env):
        self.env = env
        self.reset()

    def reset(self) -> None:
        # randomness (where to set things down) follows the episode seed, so an episode's
        # outcome never depends on which episodes ran before it in the same process
        self.rng = np.random.default_rng([self.env.seed, 0x5EED])
        self.subtask: Subtask | None = None
        self.phase = 0
        self.phase_steps = 0
        self.memory: dict = {}
        self.ee_cmd: np.ndarray | None = None
        self.quat_cmd: np.ndarray | None = None
        self.grip = 0.0
        self.settle = 0
        self.prev_kind: str | None = None
        self.in_free_space = False

    def take_over(self, subtask: Subtask, prev_kind: str | None = None) -> None:
        """Start ``subtask`` from the current simulator state, as if this expert had brought the robot here
        (a look-ahead from mid-episode, or a hand-over from a learned policy): the gripper command matches
        what the fingers hold, ``prev_kind`` (the plan's previous subtask) says whether to back off a handle
        first, a fixture subtask whose dock the base already stands at skips the drive in, and a hand already
        on its final approach (straight down onto the object, in onto the handle, lever or door) carries on
        with it instead of drawing back to start the approach over."""
        self.reset()
        m, d, r = self.env.model, self._data(), self._robot
        self.subtask, self.prev_kind = subtask, prev_kind
        self.grip = 1.0 if any(P.is_held(m, d, o, r.finger_geoms) for o in self.env.layout.objects) else 0.0
        f = C.FIXTURE_BY_NAME.get(subtask.target) if subtask.kind not in ("navigate", "pick", "place") else None
        if f is not None:
            b = r.base(d)
            ax, ay, ayaw = f.dock
            at_dock = np.hypot(ax - b.x, ay - b.y) < DOCK_TOL and abs(wrap_angle(ayaw - b.yaw)) < 0.03
            self.memory["docked"] = bool(at_dock)
        self.phase = self._approach_phase(subtask, f)

    def _approach_phase(self, s: Subtask, f: "C.Fixture | None") -> int:
        """The phase to resume ``s`` at: its final-approach phase when the EE is on that approach's line
        (within RESUME_TOL), else 0."""
        m, d = self.env.model, self._data()
        ee = self._robot.ee_base(d)[0]
        if s.kind == "pick":
            spec = C.OBJECT_BY_NAME[s.target]
            obj = self._base_frame(P.body_pos(m, d, s.target))
            support = obj[2] - spec.half_height
            grasp_z = max(obj[2] + PAD_BELOW_SITE, support + TIP_BELOW_SITE)
            line, phase = (np.array([obj[0], obj[1], support + 0.25]), np.array([obj[0], obj[1], grasp_z])), 1
        elif f is not None and self.memory.get("docked"):
            active = s.kind in ACTIVATING
            theta = float(d.qpos[m.joint(f.joint).qposadr[0]])
            geo = FixtureGeometry(self.env, f, turning_on=active)
            if f.kind == "switch":
                pos, _, appr, side = geo.lever_pose(theta, active)
                line, phase = (pos + 0.035 * side - 0.15 * appr, pos + 0.035 * side - 0.045 * appr), 2
            elif f.kind == "door" and not active:
                contact = geo.push_point(theta)
                line, phase = (contact + np.array([0.0, 0.0, 0.15]), contact), 1
            else:
                pos, _, appr = geo.grasp_pose(theta)
                depth = GRASP_DEPTH[f.kind]
                line, phase = (pos - (0.12 + depth) * appr, pos - depth * appr), 2
        else:
            return 0
        return phase if segment_distance(ee, *line) < RESUME_TOL else 0

    def can_take_over(self, subtask: Subtask) -> bool:
        """Whether ``take_over`` can continue ``subtask`` from here. Not in the middle of a grasp it did not
        make (the pick's target in the fingers, fingers closed at a handle or knob): a fresh expert starts
        such a subtask by opening its hand, so its demonstration would teach letting go mid-task."""
        m, d, r = self.env.model, self._data(), self._robot
        if subtask.kind == "pick":
            return not P.is_held(m, d, subtask.target, r.finger_geoms)
        f = C.FIXTURE_BY_NAME.get(subtask.target) if subtask.kind not in ("navigate", "place") else None
        pushed = f is None or f.kind == "switch" or (f.kind == "door" and subtask.kind == "close")  # closed fingers
        return pushed or r.gripper_width(d) > OPEN_WIDTH

    # ---- helpers -----------------------------------------------------------------
    @property
    def _robot(self):
        return self.env.robot

    def _data(self):
        return self.env.data

    def _next_phase(self) -> None:
        self.phase += 1
        self.phase_steps = 0
        self.settle = 0

    def _base_frame(self, p_world: np.ndarray) -> np.ndarray:
        return self._robot.world_to_base(self._data(), np.asarray(p_world))

    def _move_ee(self, target: np.ndarray, quat: np.ndarray | None = None, speed: float = EE_SPEED) -> bool:
        """Step the EE command toward ``target``; True once the command and the real EE are there."""
        d = target - self.ee_cmd
        n = np.linalg.norm(d)
        self.ee_cmd = target.copy() if n <= speed else self.ee_cmd + d / n * speed
        turned = True
        if quat is not None:
            quat, rate = wide_turn(self.quat_cmd, quat)
            self.quat_cmd, turned = slerp_toward(self.quat_cmd, quat, rate, shortest=False)
        ee, _ = self._robot.ee_base(self._data())
        if n > speed or not turned:
            self.settle = 0
            return False
        # arrived, or as close as the arm gets: IK can stall a centimetre short at the workspace edge
        self.settle += 1
        return bool(np.linalg.norm(ee - target) < 0.015 or self.settle > SETTLE_STEPS)

    def _rise(self, st: dict, z: float) -> bool:
        """Straight up to at least ``z`` before any sideways move (sweeping low knocks over
        what was just placed). True from the step after it got there; progress in ``st['raised']``."""
        if st.get("raised"):
            return True
        st["raised"] = self._move_ee(np.array([self.ee_cmd[0], self.ee_cmd[1], max(self.ee_cmd[2], z)]), None)
        return False

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
            # a fresh expert keeps a prev_kind it was given (lookahead from mid-episode)
            self.prev_kind = self.subtask.kind if self.subtask else self.prev_kind
            self.subtask, self.phase, self.phase_steps, self.memory, self.settle = subtask, 0, 0, {}, 0
        if self.ee_cmd is None:
            self.ee_cmd, self.quat_cmd = self._robot.ee_base(self._data())
        self.phase_steps += 1
        # phase 0 of a pick or place: the reach to above the object or the spot, where nothing is
        # touched (fixtures say so themselves once docked)
        self.in_free_space = subtask.kind in ("pick", "place") and self.phase == 0
        handler = {"navigate": self._navigate, "pick": self._pick, "place": self._place}.get(subtask.kind)
        if handler is None:
            handler = self._fixture
        return handler(subtask)

    def _navigate(self, s: Subtask) -> np.ndarray:
        v, w, _ = self._dock(C.dock_pose(s.target))
        return self._action(v, w)

    def _dock(self, pose: tuple[float, float, float]) -> tuple[float, float, bool]:
        """Arm to carry, back away from furniture, drive to a point DOCK_BACKOFF before
        ``pose``, face it, drive straight in. Returns (v, ω, docked); state in memory['dock']."""
        st = self.memory.setdefault("dock", {"phase": 0})
        ax, ay, ayaw = pose
        b = self._robot.base(self._data())
        if "backoff" not in st:  # a sidestep along the same counter needs less room
            local = np.hypot(b.x - ax, b.y - ay) < 1.0 and abs(wrap_angle(b.yaw - ayaw)) < 0.3
            st["backoff"] = LOCAL_BACKOFF if local else DOCK_BACKOFF
        if st["phase"] == 0:
            quat = self.quat_cmd if self.grip > 0.5 else down_quat(0.0)
            if not st.get("backed") and self.prev_kind not in (None, "navigate", "pick", "place"):
                # off a handle or knob: back out along the approach axis before anything else
                appr = quat_to_mat(self.quat_cmd)[:, 2]
                st.setdefault("back_to", self.ee_cmd - 0.15 * appr)
                st["backed"] = self._move_ee(st["back_to"], None)
                return 0.0, 0.0, False
            if not self._rise(st, CARRY[2]):
                return 0.0, 0.0, False
            carried = self._move_ee(CARRY, quat)
            if "undock" not in st:
                near = np.hypot(b.x - ax, b.y - ay) < 0.03 and abs(wrap_angle(b.yaw - ayaw)) < 0.05
                # already on the way straight in (a navigate subtask handed over short of the dock):
                # finish that approach rather than back out and come round again
                ahead = np.cos(ayaw) * (ax - b.x) + np.sin(ayaw) * (ay - b.y)
                lateral = -np.sin(ayaw) * (b.x - ax) + np.cos(ayaw) * (b.y - ay)
                st["inline"] = bool(abs(lateral) < INLINE_LATERAL and abs(wrap_angle(b.yaw - ayaw)) < INLINE_YAW
                                    and -0.05 < ahead < 0.5)
                docked = min(np.hypot(b.x - q[0], b.y - q[1]) for q in DOCKS) < 0.25
                back = st["backoff"] if st["backoff"] == LOCAL_BACKOFF else 0.5
                undock = docked and not near and not st["inline"]
                st["undock"] = (b.x - back * np.cos(b.yaw), b.y - back * np.sin(b.yaw)) if undock else None
            if not carried:
                return 0.0, 0.0, False
            st["phase"] = 1
        if st["phase"] == 1:
            if st["undock"] is not None:
                v, w, done = self._drive_to(*st["undock"], reverse_ok=True)
                if not done:
                    return v, w, False
            st["phase"] = 2 if np.hypot(b.x - ax, b.y - ay) > 0.03 and not st["inline"] else 3
        if st["phase"] == 2:  # to the pre-dock point, facing where it goes: backing along an arc
            # toward a sidestep target swept the chassis into the Franka Kitchen side counter
            v, w, done = self._drive_to(ax - st["backoff"] * np.cos(ayaw), ay - st["backoff"] * np.sin(ayaw))
            if not done:
                return v, w, False
            st["phase"] = 3
        if st["phase"] == 3:
            w, done = self._turn_to(ayaw)
            if not done:
                return 0.0, w, False
            st["phase"] = 4
        # straight in to the dock pose
        dist = np.hypot(ax - b.x, ay - b.y)
        ahead = np.cos(ayaw) * (ax - b.x) + np.sin(ayaw) * (ay - b.y)
        # steer at the dock point while well short of it (takes out a lateral error of a few cm:
        # the knobs at the edge of reach need it), square up to the dock's yaw for the last stretch
        aim = np.arctan2(ay - b.y, ax - b.x) if ahead > STEER_AHEAD else ayaw
        w, _ = self._turn_to(aim)
        _, aligned = self._turn_to(ayaw)
        v = float(np.clip(1.2 * ahead, -0.3, 0.4)) if dist > 0.015 else 0.0
        speed = np.linalg.norm(self._data().qvel[self._robot.base_qpos])
        return v, w, bool(dist < DOCK_TOL and aligned and speed < 0.05)

    def _grasp_yaw(self, name: str) -> float:
        """Fingers (closing along the EE y axis) close across the object: square to a box's
        faces, and for a mug perpendicular to its handle (+x of the mug), so the handle stays clear."""
        d = self._data()
        spec = C.OBJECT_BY_NAME[name]
        if spec.shape not in ("box", "mug"):
            return 0.0
        q = d.xquat[self.env.model.body(name).id]
        yaw = 2 * np.arctan2(q[3], q[0]) - self._robot.base(d).yaw  # objects only ever turn about z
        if spec.shape == "box":  # a box is symmetric under a quarter turn
            return float((yaw + np.pi / 4) % (np.pi / 2) - np.pi / 4)
        return wrap_angle_half(yaw)

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
            above = np.array([obj[0], obj[1], support + 0.25])
            if self._rise(self.memory, above[2]) and self._move_ee(above, quat):
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
        # room for the open fingers too, so setting down never knocks a neighbour over
        spot = free_spot(s.dest, footprint(s.target) + FINGER_ROOM, occupied, self.rng)
        if spot is None:  # crowded: the widest gap there is
            spot = roomiest_spot(s.dest, footprint(s.target), occupied, self.rng)
        return np.array(spot), surf.height

    def _fixture(self, s: Subtask) -> np.ndarray:
        """Dock at the fixture, then work it: doors and drawers by grasping the handle and
        following its arc/line closed-loop, knobs by grasping and rolling the wrist, the
        light switch by pushing its lever sideways with closed fingers."""
        f = C.FIXTURE_BY_NAME[s.target]
        if not self.memory.get("docked"):
            v, w, done = self._dock(f.dock)
            if not done:
                return self._action(v, w)
            self.memory["docked"] = True
            self.phase, self.phase_steps = 0, 0
        active = s.kind in ACTIVATING
        m, d = self.env.model, self._data()
        theta = float(d.qpos[m.joint(f.joint).qposadr[0]])
        geo = FixtureGeometry(self.env, f, turning_on=active)
        pushing_door = f.kind == "door" and not active
        # the reach to the stand-off point in front of (or above) the handle touches nothing
        self.in_free_space = self.phase <= (0 if pushing_door else 1)
        if f.kind == "switch":
            return self._push_switch(geo, theta, active)
        if pushing_door:  # an open door's handle is too close to grasp: push it shut
            return self._push_door(geo, theta)
        goal = {"door": (-0.6, -0.02), "drawer": (0.38, 0.02), "knob": (-1.1, -0.03)}[f.kind][0 if active else 1]
        # doors and knobs open/turn on toward negative joint values, the drawer toward positive
        delta = {"door": 0.1, "drawer": 0.06, "knob": 0.15}[f.kind]
        delta = -delta if (active != (f.kind == "drawer")) else delta
        reached = theta >= goal if delta > 0 else theta <= goal
        depth = GRASP_DEPTH[f.kind]
        if self.phase == 0:  # level with the handle, arm still drawn back
            self.grip = 0.0
            # a turned knob: line up unrolled first, then roll along the same arm branch a turn-on takes
            unroll = f.kind == "knob" and not active and not self.memory.get("unrolled")
            pos, quat, appr = geo.grasp_pose(0.0 if unroll else theta)
            pre = pos - (0.12 + depth) * appr
            if f.kind != "knob":  # knobs are approached from above; the rest straight on
                pre[0] = min(pre[0], REACH_BACK)
            if self._move_ee(pre, quat):
                if unroll:
                    self.memory["unrolled"] = True
                    self.settle = 0
                else:
                    self._next_phase()
        elif self.phase == 1:  # in front of the handle
            pos, quat, appr = geo.grasp_pose(theta)
            if self._move_ee(pos - (0.12 + depth) * appr, quat):
                self._next_phase()
        elif self.phase == 2:  # onto the handle
            pos, quat, appr = geo.grasp_pose(theta)
            if self._move_ee(pos - depth * appr, quat, speed=0.015) or self.phase_steps > 40:
                self._next_phase()
        elif self.phase == 3:
            self.grip = 1.0
            if self.phase_steps > 8:
                self._next_phase()
        elif self.phase == 4:  # follow the handle, a little ahead of where it is
            if reached or self.phase_steps > 120:
                self._next_phase()
            else:
                pos, quat, appr = geo.grasp_pose(theta + delta)
                self.ee_cmd, self.quat_cmd = pos - depth * appr, quat
        elif self.phase == 5:
            self.grip = 0.0
            if self.phase_steps > 6:
                self._next_phase()
        elif self.phase_steps > 10 and not self.env.subtask_done(s):  # let go short of the goal: again
            self.phase, self.phase_steps = 0, 0
            self.memory.pop("unrolled", None)
        else:  # back off along the approach axis
            _, quat, appr = geo.grasp_pose(theta)
            self._move_ee(self.ee_cmd - 0.02 * appr if self.phase_steps < 6 else self.ee_cmd, None)
        return self._action()

    def _push_door(self, geo: "FixtureGeometry", theta: float) -> np.ndarray:
        """Closed fingers pointing down, pressed against the robot side of the handle, sweep it shut."""
        self.grip = 1.0
        quat = down_quat(0.0)
        if theta > -0.03:
            self.phase = max(self.phase, 3)
        contact = geo.push_point(theta)
        if self.phase == 0:  # above the push point
            if self._move_ee(contact + np.array([0.0, 0.0, 0.15]), quat):
                self._next_phase()
        elif self.phase == 1:
            if self._move_ee(contact, quat, speed=0.02) or self.phase_steps > 30:
                self._next_phase()
        elif self.phase == 2:
            if self.phase_steps > 100:
                self._next_phase()
            else:
                self.ee_cmd = geo.push_point(theta + 0.15)
        else:
            self._move_ee(np.array([self.ee_cmd[0], self.ee_cmd[1], CARRY[2]]), quat, speed=0.02)
        return self._action()

    def _push_switch(self, geo: "FixtureGeometry", theta: float, on: bool) -> np.ndarray:
        self.grip = 1.0
        push = -0.2 if on else 0.2
        done = theta < -0.6 if on else theta > -0.05
        if self.phase == 0:  # level with the lever, arm drawn back
            pos, quat, appr, side = geo.lever_pose(theta, on)
            pre = pos + 0.035 * side - 0.15 * appr
            if self._move_ee(np.array([min(pre[0], REACH_BACK), pre[1], pre[2]]), quat):
                self._next_phase()
        elif self.phase == 1:  # beside the lever, in front of it
            pos, quat, appr, side = geo.lever_pose(theta, on)
            if self._move_ee(pos + 0.035 * side - 0.15 * appr, quat):
                self._next_phase()
        elif self.phase == 2:  # level with it
            pos, quat, appr, side = geo.lever_pose(theta, on)
            if self._move_ee(pos + 0.035 * side - 0.045 * appr, quat, speed=0.015) or self.phase_steps > 40:
                self._next_phase()
        elif self.phase == 3:  # sweep it over
            if done or self.phase_steps > 150:
                self._next_phase()
            else:
                pos, quat, appr, side = geo.lever_pose(theta + push, on)
                self.ee_cmd = pos + 0.02 * side - 0.045 * appr
        elif self.phase_steps > 10 and not done:  # backed off short of the goal: again
            self.phase, self.phase_steps = 0, 0
        else:
            self._move_ee(self.ee_cmd - 0.02 * geo.forward if self.phase_steps < 6 else self.ee_cmd, None)
        return self._action()


class FixtureGeometry:
    """Where a fixture's handle is, in the base frame, as a function of its joint value."""

    def __init__(self, env, f: C.Fixture, turning_on: bool = True):
        m, d = env.model, env.data
        self.turning_on = turning_on
        self.env, self.f = env, f
        site = m.site(f.handle_site)
        body = site.bodyid[0]
        jnt = m.joint(f.joint)
        theta = float(d.qpos[jnt.qposadr[0]])
        axis_w = d.xmat[body].reshape(3, 3) @ m.jnt_axis[jnt.id]
        anchor = d.xpos[body] + d.xmat[body].reshape(3, 3) @ m.jnt_pos[jnt.id]
        self.theta0 = theta
        self.site0 = d.site_xpos[site.id].copy()
        self.axis_w, self.anchor = axis_w, anchor
        robot = env.robot
        self.forward = np.array([1.0, 0.0, 0.0])
        self._to_base = lambda p: robot.world_to_base(d, p)  # noqa: E731
        self._yaw = robot.base(d).yaw

    def _rot(self, angle: float) -> np.ndarray:
        q = np.empty(4)
        mujoco.mju_axisAngle2Quat(q, self.axis_w, angle)
        return quat_to_mat(q)

    def handle_world(self, theta: float) -> np.ndarray:
        if self.f.kind == "drawer":
            return self.site0 + (theta - self.theta0) * self.axis_w
        return self.anchor + self._rot(theta - self.theta0) @ (self.site0 - self.anchor)

    def grasp_pose(self, theta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(EE position, EE quat, approach unit vector), base frame, for the handle at ``theta``."""
        pos = self._to_base(self.handle_world(theta))
        face = self.f.door_yaw + (theta if self.f.kind == "door" else 0.0)
        normal_yaw = wrap_angle(np.pi / 2 + face - self._yaw)  # world +y, turned with the door
        approach_yaw = normal_yaw
        if self.f.kind == "door":  # a round handle can be held off-normal: point from the arm, it reaches further
            toward = np.arctan2(pos[1], pos[0] - C.ARM_MOUNT_X)
            approach_yaw = normal_yaw + float(np.clip(wrap_angle(toward - normal_yaw), -DOOR_SKEW, DOOR_SKEW))
        roll = -theta if self.f.kind == "knob" else 0.0
        pitch = 0.0
        if self.f.kind == "knob":  # pitched: a level reach is at the joint limits
            pitch = KNOB_PITCH if self.turning_on else KNOB_PITCH_OFF
            if self.turning_on and self.site0[2] < KNOB_LOW_ROW_Z:  # steep approaches catch the knob above
                pitch = KNOB_PITCH_LOW
        quat = quat_mul(yaw_quat(approach_yaw), quat_mul(axis_quat((1.0, 0.0, 0.0), roll),
                                                         axis_quat((0.0, 1.0, 0.0), np.pi / 2 + pitch)))
        appr = quat_to_mat(quat)[:, 2]  # the EE z axis is the approach direction
        return pos, quat, appr

    def push_point(self, theta: float) -> np.ndarray:
        """Base-frame EE site target that presses the handle's robot side toward closing."""
        h = self.handle_world(theta)
        radius = h - self.anchor
        closing = np.cross(self.axis_w, radius)  # d(handle)/dθ: positive θ closes a door
        closing /= max(np.linalg.norm(closing), 1e-9)
        p = h - 0.04 * closing + np.array([0.0, 0.0, 0.07])
        return self._to_base(p)

    def lever_pose(self, theta: float, on: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A point 6 cm along the switch lever, the EE quat, the approach and the side to push from."""
        lever = self._rot(theta - self.theta0) @ (self.site0 - self.anchor)
        point = self.anchor + lever * (0.06 / max(np.linalg.norm(lever[:2]), 1e-6))
        normal = np.cross(np.array([0.0, 0.0, 1.0]), lever / max(np.linalg.norm(lever), 1e-6))
        side = normal if on else -normal  # turning on sweeps the lever toward -normal
        _, quat, appr = self.grasp_pose(self.theta0)
        side_b = self._to_base(self.anchor + side) - self._to_base(self.anchor)
        return self._to_base(point), quat, appr, side_b / max(np.linalg.norm(side_b), 1e-9)


def axis_quat(axis, angle: float) -> np.ndarray:
    q = np.empty(4)
    mujoco.mju_axisAngle2Quat(q, np.asarray(axis, dtype=float), float(angle))
    return q


GRASP_DEPTH = {"door": 0.02, "drawer": 0.025, "knob": 0.035}  # m: how far past the handle site the EE grasps
RESUME_TOL = 0.025  # m: an EE this close to a final approach's line is on it (take_over resumes there)
OPEN_WIDTH = 0.07  # m: fingers wider than this hold nothing (fully open 0.08; on a knob 0.052, a handle 0.043)
INLINE_LATERAL, INLINE_YAW = 0.05, 0.25 # m, rad: close enough to the dock's axis to just drive on in
STEER_AHEAD = 0.12  # m: steer at the dock point until this close
DOCK_TOL = 0.02  # m: docked (the knobs at the edge of reach fail 3 cm short)
DOCKS = [a.pose for a in C.AREAS] + [f.dock for f in C.ALL_FIXTURES]


def segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance from point ``p`` to the segment ``a``–``b``."""
    ab = b - a
    t = float(np.clip(np.dot(p - a, ab) / max(float(np.dot(ab, ab)), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


def wide_turn(q: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """(target with the sign to slerp toward, rad per step). Near a half turn (the carry pose to a
    fixture grasp and back: ~180°) the shorter way flips with rounding, so demonstrations of one reach
    turned the wrist either way and a policy's chunks averaged the two. There the way is fixed, the
    one whose halfway pose points the fingers to the robot's left; any turn over 100° is slower."""
    q, target = np.asarray(q, dtype=float), np.asarray(target, dtype=float)
    dot = float(np.dot(q, target))
    if abs(dot) < WIDE_DOT:
        left = [quat_to_mat(m / max(np.linalg.norm(m), 1e-9))[1, 2] for m in (q + target, q - target)]
        target = target if left[0] >= left[1] else -target
    elif dot < 0:
        target = -target
    wide = float(np.dot(q, target)) < SLOW_DOT
    return target, ROT_SPEED_WIDE if wide else ROT_SPEED


def slerp_toward(q: np.ndarray, target: np.ndarray, max_angle: float,
                 shortest: bool = True) -> tuple[np.ndarray, bool]:
    """Rotate unit quaternion ``q`` toward ``target`` by at most ``max_angle`` rad; (new q, arrived).
    ``shortest``: the shorter way (else the way ``target``'s sign says)."""
    q, target = np.asarray(q, dtype=float), np.asarray(target, dtype=float)
    if shortest and np.dot(q, target) < 0:
        target = -target
    dot = float(np.clip(np.dot(q, target), -1.0, 1.0))
    angle = 2 * np.arccos(dot)
    if angle <= max_angle:
        return target.copy(), True
    t = max_angle / angle
    half = angle / 2
    out = (np.sin((1 - t) * half) * q + np.sin(t * half) * target) / np.sin(half)
    return out / np.linalg.norm(out), False


def wrap_angle_half(a: float) -> float:
    """Wrap to [-π/2, π/2): a parallel gripper is symmetric under a half turn."""
    return float((a + np.pi / 2) % np.pi - np.pi / 2)
