"""The agent, ROS-free: robot state, keypoints and camera frames in → one action per control tick out.

``ros2_nodes/agent_node.py`` feeds the ``on_*`` methods from its subscriptions and calls ``tick`` from a
timer at the policy's rate. Each tick builds an ``Observation`` from the latest inputs and asks the
runtime loop's step-wise core (``vla_core.runtime.ChunkStepper``, the same one sim episodes run) for
the next action, which becomes the content of ``/vla/action/ee`` (or ``/vla/action/joint``).

No action goes out (and the status says why) when: there is no task yet; an input the observation
needs never arrived or is older than ``max_obs_age_s`` since receipt (the same receipt-clock rule as
the safety bridge's watchdogs: header stamps come from other clocks); proprio, the EE pose or a
keypoint holds NaN/inf (a keypoint row that is NaN as a whole is "not visible" and fine); the planner
says the task is done; the planner or policy refuses the input (ValueError) or returns non-finite
actions. After any tick without an action the rest of the current chunk is dropped: it was sampled
from a state that is gone, so acting resumes with a fresh chunk.

Corrections (``on_correction``: text from ``/vla/voice/correction``, typed or from the voice node; or
``on_audio`` with a ``VoiceCore`` for a one-process setup) go to the stepper's correction channel: a stop
holds the pose at once, a motion or instruction overrides the plan from the next chunk, 'continue' hands
back. The status carries the override in force and each correction's latency (arrival → first action
under it) or, for text that is no correction, the reason.

The camera frames arrive here directly (``on_rgb`` / ``on_depth`` with arrays from
``vla_core.deploy.camera``): the agent subscribes to the image topics itself, so there is no separate
camera node whose only job would be to republish the same images.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from vla_core.actions import split_action
from vla_core.corrections import Correction
from vla_core.corrections.config import CorrectionConfig
from vla_core.corrections.override import CorrectionQueue, Overrider
from vla_core.deploy.bridge import ACTION_SPACES  # the bridge's two command kinds, one list
from vla_core.deploy.camera import check_depth, check_rgb
from vla_core.deploy.config import AgentConfig
from vla_core.deploy.pose import EEPose
from vla_core.deploy.state import finger_joint_names, joint_names
from vla_core.deploy.watchdog import Watchdog
from vla_core.observation import Observation, Proprio
from vla_core.runtime import ChunkStepper, LoopConfig

BASE_EPS = 1e-3  # m/s, rad/s: base motion below this is no motion (a fixed arm drops it silently)
MAX_KEYPOINTS = 1024


@dataclass(frozen=True)
class AgentAction:
    """The content of one action message (std_msgs/Float64MultiArray)."""

    space: str  # 'ee': [x y z qw qx qy qz gripper] (base frame) | 'joint': [q1..q7 gripper]
    data: np.ndarray  # (8,) float64

    def to_list(self) -> list[float]:
        return [float(v) for v in self.data]


@dataclass(frozen=True)
class AgentStatus:
    """What the status topic carries after each tick (JSON)."""

    state: str  # idle | waiting | stale | invalid | acting | done | error
    reasons: tuple[str, ...] = ()
    task: str | None = None
    step: int = 0  # actions emitted for this task
    plan: str | None = None
    plan_kind: str | None = None
    confidence: float | None = None
    abstain_reason: str | None = None
    new_chunk: bool = False
    plan_ms: float = 0.0
    sample_ms: float = 0.0
    tick_ms: float = 0.0
    ages_s: dict[str, float] = field(default_factory=dict)  # every input's age at this tick (inf: never)
    override: str = "none"  # the correction override in force: none | freeze | motion | instruction
    corrections: tuple[dict, ...] = ()  # corrections handled at this tick: kind, text, plan, latency_ms, message

    def to_json(self) -> str:
        d = dict(self.__dict__, reasons=list(self.reasons), corrections=list(self.corrections))
        d["ages_s"] = {k: (None if math.isinf(v) else round(v, 4)) for k, v in self.ages_s.items()}
        return json.dumps(d)


@dataclass(frozen=True)
class TickResult:
    action: AgentAction | None  # None: publish nothing this tick
    status: AgentStatus


class Agent:
    """``planner``/``policy``: the Planner and Policy contracts (a ``RemotePolicy`` for a policy server).

    ``ik(pos (3,), quat (4,) wxyz, q (7,)) -> q (7,)``: only for ``action_space='joint'``; the policies
    output EE targets, so joint commands need inverse kinematics of the real arm.

    ``corrections``: how corrections override the plan (configs/corrections); ``voice``: a
    ``vla_core.speech.voice.VoiceCore`` for ``on_audio`` (None: text corrections only).
    """

    def __init__(self, planner, policy, config: AgentConfig | None = None, action_space: str = "ee",
                 robot_type: str = "fr3", ik: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
                 clock: Callable[[], float] = time.monotonic, corrections: CorrectionConfig | None = None,
                 voice=None):
        if action_space not in ACTION_SPACES:
            raise ValueError(f"action_space must be one of {ACTION_SPACES}, got {action_space!r}")
        if action_space == "joint" and ik is None:
            raise ValueError("action_space 'joint' needs inverse kinematics (the policies output EE targets); "
                             "none is wired for this robot: use action_space 'ee'")
        self.config = config or AgentConfig()
        self.action_space, self.robot_type, self.ik, self._clock = action_space, robot_type, ik, clock
        self._arm_names, self._finger_names = joint_names(robot_type), finger_joint_names(robot_type)
        c = self.config
        n_exec = c.n_exec or getattr(policy, "n_exec", None) or 1
        self.corrections = Overrider(corrections, CorrectionQueue(clock))
        self.voice = voice
        self.stepper = ChunkStepper(planner, policy, LoopConfig(n_exec=int(n_exec), replan=c.replan),
                                    corrections=self.corrections)
        names = ["joints", "gripper", "ee_pose"] + (["keypoints"] if c.keypoints else [])
        names += [f"rgb:{cam}" for cam in c.cameras] + [f"depth:{cam}" for cam in c.depth_cameras]
        self.watchdogs = {n: Watchdog(n, c.max_obs_age_s, clock) for n in names}
        self._joints: np.ndarray | None = None
        self._gripper: float | None = None
        self._ee: EEPose | None = None
        self._kp_names: tuple[str, ...] = ()
        self._kp = np.zeros((0, 3), np.float32)
        self._rgb: dict[str, np.ndarray] = {}
        self._depth: dict[str, np.ndarray] = {}
        self.task: str | None = None
        self._t0 = 0.0
        self._steps = 0
        self._acting = False  # the last tick emitted an action (else the current chunk is stale)

    # ---- inputs ----

    def set_task(self, task: str) -> None:
        """Start (or restart) on an instruction: the planner and the policy begin a new episode."""
        task = task.strip() if isinstance(task, str) else ""
        if not task:
            raise ValueError("the task must be a non-empty instruction")
        self.task, self._t0, self._steps = task, self._clock(), 0
        self.stepper.reset(task)

    def request_replan(self) -> None:
        """A correction arrived: the planner is asked again before the next chunk."""
        self.stepper.request_replan()

    def on_correction(self, text, arrived: float | None = None) -> Correction:
        """A typed or transcribed correction (any thread); ``arrived``: on the agent's clock (default now).
        Returns what it was parsed as (an ``Unrecognised`` one changes nothing and is reported)."""
        return self.corrections.source.put(text, arrived)

    def on_audio(self, chunk) -> list[Correction]:
        """16 kHz mono audio straight into the agent (needs ``voice``): each finished utterance's transcript
        becomes a correction, stamped at the end of the speech so latency includes the ASR."""
        if self.voice is None:
            raise ValueError("this agent has no voice core: pass voice=VoiceCore(...) or send text corrections")
        return [self.on_correction(h.text, h.utterance_end) for h in self.voice.audio(chunk)]

    def on_joint_state(self, names: Sequence[str], positions: Sequence[float]) -> None:
        """``sensor_msgs/JointState`` names/positions: the 7 arm joints (``<robot>_joint1..7``) and, where
        present, the two fingers (``<robot>_finger_joint1/2``, summed to the opening in metres).
        Non-finite values are kept: the tick reports them instead of acting."""
        if len(names) != len(positions):
            raise ValueError(f"joint state has {len(names)} names but {len(positions)} positions")
        by_name = dict(zip(names, (float(p) for p in positions)))
        arm = [by_name.get(n) for n in self._arm_names]
        if all(v is not None for v in arm):
            self._joints = np.array(arm)
            self.watchdogs["joints"].feed()
        fingers = [by_name.get(n) for n in self._finger_names]
        if all(v is not None for v in fingers):
            self._gripper = float(sum(fingers))
            self.watchdogs["gripper"].feed()

    def on_ee_pose(self, pose: EEPose) -> None:
        """Measured EE pose in the base frame (franka robot state ``o_t_ee``)."""
        self._ee = pose
        self.watchdogs["ee_pose"].feed()

    def on_keypoints(self, names: Sequence[str], points) -> None:
        """(K, 3) base-frame points with their names; a NaN row is a point not visible now."""
        pts = np.asarray(points, dtype=np.float32)
        if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) != len(names) or len(pts) > MAX_KEYPOINTS:
            raise ValueError(f"keypoints must be (K, 3) with K names (K <= {MAX_KEYPOINTS}), got {pts.shape} "
                             f"for {len(names)} names")
        self._kp_names, self._kp = tuple(str(n) for n in names), pts
        if "keypoints" in self.watchdogs:
            self.watchdogs["keypoints"].feed()

    def on_rgb(self, camera: str, rgb: np.ndarray) -> None:
        """(H, W, 3) uint8 (``vla_core.deploy.camera.rgb_from_frame``)."""
        self._rgb[camera] = check_rgb(rgb, f"camera {camera!r}: RGB")
        if f"rgb:{camera}" in self.watchdogs:
            self.watchdogs[f"rgb:{camera}"].feed()

    def on_depth(self, camera: str, depth: np.ndarray) -> None:
        """(H, W) float32 metres (``vla_core.deploy.camera.depth_from_frame``)."""
        self._depth[camera] = check_depth(depth, f"camera {camera!r}: depth")
        if f"depth:{camera}" in self.watchdogs:
            self.watchdogs[f"depth:{camera}"].feed()

    # ---- the tick ----

    def tick(self) -> TickResult:
        start = time.perf_counter()
        ages = {n: w.age() for n, w in self.watchdogs.items()}
        result = self._decide(ages)
        self._acting = result.action is not None
        status = replace(result.status, tick_ms=1e3 * (time.perf_counter() - start), ages_s=ages, task=self.task,
                         step=self._steps)
        return TickResult(result.action, status)

    def _decide(self, ages: dict[str, float]) -> TickResult:
        if self.task is None:
            return self._none("idle", "no task yet (publish one on the task topic)")
        missing = [n for n, a in ages.items() if math.isinf(a)]
        if missing:
            return self._none("waiting", *(f"no {n} received yet" for n in missing))
        stale = [f"{n} is {ages[n]:.2f} s old (max {self.config.max_obs_age_s:g} s)"
                 for n, w in self.watchdogs.items() if w.stale()]
        if stale:
            return self._none("stale", *stale)
        bad = self._non_finite()
        if bad:
            return self._none("invalid", *bad)
        if not self._acting:
            self.stepper.drop_chunk()
        obs = self._observation()
        try:
            decision = self.stepper.next(obs)
        except ValueError as e:  # the planner's or policy's own refusal of this input
            return self._none("error", f"{type(e).__name__}: {e}")
        if decision is None:
            return self._none("done", "the planner says the task is done")
        plan = decision.plan
        info = dict(plan=plan.plan.to_text(), plan_kind=_plan_kind(plan.plan), confidence=float(plan.confidence),
                    abstain_reason=plan.abstain_reason, new_chunk=decision.new_chunk,
                    plan_ms=decision.plan_ms, sample_ms=decision.sample_ms, override=decision.override,
                    corrections=tuple(c.to_dict() for c in decision.corrections))
        try:
            action, reasons = self._action(decision.action)
        except ValueError as e:  # no action: the next tick that acts drops this chunk (``_acting``)
            return TickResult(None, AgentStatus("invalid", (f"policy output: {e}",), **info))
        held = getattr(self.stepper.policy, "held", False)  # a RemotePolicy's hold chunk while the server is gone
        if held:
            reasons += (f"policy server unavailable, holding: {self.stepper.policy.last.get('reason')}",)
        if decision.override == "freeze":
            reasons += ("holding: stopped by a correction (say or type 'continue')",)
        reasons += tuple(c.message for c in decision.corrections if c.kind == "unrecognised")
        self._steps += 1
        return TickResult(action, AgentStatus("acting", reasons, **info))

    def _none(self, state: str, *reasons: str) -> TickResult:
        return TickResult(None, AgentStatus(state, tuple(reasons)))

    def _non_finite(self) -> list[str]:
        out = []
        if not np.all(np.isfinite(self._joints)):
            out.append("NaN/inf in the joint positions")
        if not math.isfinite(self._gripper):
            out.append("NaN/inf in the gripper opening")
        if not self._ee.finite():
            out.append("NaN/inf in the EE pose")
        finite = np.isfinite(self._kp)
        if not np.all(finite.all(axis=1) | np.isnan(self._kp).all(axis=1)):  # partly NaN or inf: not "unseen"
            out.append("NaN/inf in a keypoint (only whole NaN rows mean 'not visible')")
        out += [f"NaN/inf in depth camera {cam!r}" for cam in self.config.depth_cameras
                if not np.all(np.isfinite(self._depth[cam]))]
        return out

    def _observation(self) -> Observation:
        """Fixed-base arm: base pose zeros (the Proprio contract for fixed-base arms)."""
        proprio = Proprio(self._joints.copy(), float(self._gripper), np.asarray(self._ee.position, np.float64),
                          np.asarray(self._ee.quat, np.float64), np.zeros(3))
        cams = self.config
        return Observation(proprio, self._kp, self._kp_names, self.task, self._clock() - self._t0,
                           {c: self._rgb[c] for c in cams.cameras}, {c: self._depth[c] for c in cams.depth_cameras})

    def _action(self, action: np.ndarray) -> tuple[AgentAction, tuple[str, ...]]:
        """A policy action (10,) mobile or (8,) arm → the arm's message; ValueError on NaN/inf or a bad size."""
        base, pos, quat, grip = split_action(action)
        reasons: tuple[str, ...] = ()
        if np.any(np.abs(base) > BASE_EPS):  # a mobile-base policy on a fixed arm: the base part has no receiver
            reasons = (f"base motion dropped (v {base[0]:.2f} m/s, w {base[1]:.2f} rad/s): fixed-base arm",)
        if self.action_space == "ee":
            return AgentAction("ee", np.concatenate([pos, quat, [grip]])), reasons
        q = np.asarray(self.ik(pos, quat, self._joints.copy()), dtype=np.float64).reshape(-1)
        if q.shape != (7,) or not np.all(np.isfinite(q)):
            raise ValueError(f"IK returned {q.shape} / non-finite joints")
        return AgentAction("joint", np.concatenate([q, [grip]])), reasons


def _plan_kind(plan) -> str:
    from vla_core.serve.protocol import plan_kind  # the wire's names for plan kinds, one table

    return plan_kind(plan)


def parse_keypoints(text: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The keypoints topic's JSON ``{"names": [...], "points": [[x, y, z] | null, ...]}`` → (names, (K, 3)
    float32 with NaN rows for null); ValueError naming what is wrong."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"keypoints: not JSON ({e.msg} at {e.pos})") from None
    if not isinstance(doc, dict) or set(doc) != {"names", "points"}:
        raise ValueError('keypoints: expected an object with exactly "names" and "points"')
    names, points = doc["names"], doc["points"]
    if not (isinstance(names, list) and isinstance(points, list) and len(names) == len(points)):
        raise ValueError("keypoints: names and points must be lists of the same length")
    if len(names) > MAX_KEYPOINTS or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"keypoints: at most {MAX_KEYPOINTS} non-empty string names")
    out = np.full((len(points), 3), np.nan, np.float32)
    for i, p in enumerate(points):
        if p is None:
            continue
        if not (isinstance(p, list) and len(p) == 3 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                           for v in p)):
            raise ValueError(f"keypoints: point {i} ({names[i]!r}) must be [x, y, z] numbers or null, got {p!r}")
        out[i] = p
    return tuple(names), out


def keypoints_json(names: Sequence[str], points: np.ndarray) -> str:
    """The inverse of ``parse_keypoints``: non-finite rows become null (strict JSON has no NaN)."""
    pts = np.asarray(points, dtype=np.float64)
    rows = [[float(v) for v in p] if np.all(np.isfinite(p)) else None for p in pts]
    return json.dumps({"names": list(names), "points": rows})
