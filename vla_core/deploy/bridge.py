"""SafetyBridge: the only thing between the policy's actions and a real Franka (ROS-free core).

Each control tick (``step``) decides, in this order, and the first that applies wins:
e-stop latched → hold; robot state stale → hold; robot not in a commandable mode → hold;
no fresh action → hold; else the latest action goes through the ``SafetyFilter``.

Hold means nothing new is sent: the impedance controller keeps its last equilibrium, which was at
most one step from where the arm was. After any hold the next command steps from the *measured*
state again (re-anchoring), as it does when the last command leads the measured pose by more than
the tracking-error limit (the arm is blocked or was pushed).

Dry run (the default) runs exactly the same decisions but ``send`` is always False: the node logs
and previews what it would send. Since nothing moves the arm in a dry run, every step there is
measured from the measured pose.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vla_core.deploy.estop import Decision, EStop, error_recovery_allowed
from vla_core.deploy.gripper import GripperCommand, GripperConfig, GripperMapper
from vla_core.deploy.limits import N_JOINTS, SafetyLimits
from vla_core.deploy.pose import EEPose, EETarget, JointTarget, normalize_quat, quat_angle
from vla_core.deploy.safety import SafetyFilter
from vla_core.deploy.state import COMMANDABLE, RobotMode, RobotState
from vla_core.deploy.watchdog import Watchdog

ACTION_SPACES = ("ee", "joint")
ESTOP_TOPIC_SOURCE = "/vla/estop"


@dataclass(frozen=True)
class BridgeOutput:
    send: bool  # publish the arm command (and the gripper goal, if any) now; never in dry run
    would_send: bool  # what a live bridge would do this tick
    hold: bool  # nothing new goes to the arm
    dry_run: bool
    action_space: str  # 'ee' | 'joint'
    pose: EEPose | None = None  # ee: the command (on hold: the pose held, for the log)
    joints: np.ndarray | None = None  # joint: (7,) the command (on hold: the joints held)
    reference: EEPose | np.ndarray | None = None  # what the step limit was measured from
    gripper: GripperCommand | None = None  # a franka_gripper goal, only when the decision changed
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def gripper_action(self) -> str | None:
        """'move' | 'grasp' | None."""
        return None if self.gripper is None else self.gripper.action

    def to_dict(self) -> dict:
        """JSON-ready summary for the status topic and logs."""
        out: dict = {"send": self.send, "would_send": self.would_send, "hold": self.hold,
                     "dry_run": self.dry_run, "action_space": self.action_space,
                     "reasons": list(self.reasons), "gripper_action": self.gripper_action}
        if self.pose is not None:
            out["pose"] = {"position": self.pose.position.tolist(), "quat_wxyz": self.pose.quat.tolist()}
        if self.joints is not None:
            out["joints"] = np.asarray(self.joints).tolist()
        if self.gripper is not None:
            out["gripper"] = {"width": self.gripper.width, "speed": self.gripper.speed, "force": self.gripper.force}
        return out


class SafetyBridge:
    def __init__(self, limits: SafetyLimits, gripper: GripperConfig | None = None, action_space: str = "ee",
                 dry_run: bool = True, clock: Callable[[], float] = time.monotonic):
        if action_space not in ACTION_SPACES:
            raise ValueError(f"action_space must be one of {ACTION_SPACES}, got {action_space!r}")
        if not isinstance(dry_run, bool):  # "false" (a string) must not silently mean live
            raise ValueError(f"dry_run must be a bool, got {type(dry_run).__name__} {dry_run!r}")
        self.limits, self.action_space, self.dry_run = limits, action_space, dry_run
        self.filter = SafetyFilter(limits)
        self.estop = EStop()
        self.gripper = GripperMapper(gripper)
        self._clock = clock
        self.action_watchdog = Watchdog("action", limits.stale_action_s, clock)
        self.state_watchdog = Watchdog("state", limits.stale_state_s, clock)
        self._target: EETarget | JointTarget | None = None
        self._state = RobotState()
        self._last_cmd: EEPose | np.ndarray | None = None  # last command sent live; None → step from measured
        self._last_tick: float | None = None

    # ---- inputs (the node calls these from its callbacks) ----

    def on_action(self, target: EETarget | JointTarget) -> None:
        want = EETarget if self.action_space == "ee" else JointTarget
        if not isinstance(target, want):
            raise ValueError(f"action_space {self.action_space!r} takes {want.__name__}, got {type(target).__name__}")
        self._target = target  # even a NaN one: the filter holds on it instead of chasing an older target
        self.action_watchdog.feed()

    def on_state(self, state: RobotState) -> None:
        """Merge what this message carries; only the field this action space steps from feeds the watchdog.

        ``robot_mode`` arrives only with franka's robot state; if that stream stops while ``/joint_states``
        goes on (joint mode), the last mode is kept. libfranka stops the arm on a reflex by itself; the
        mode check here only keeps the bridge from commanding through one.
        """
        old = self._state
        self._state = RobotState(
            ee_pose=state.ee_pose if state.ee_pose is not None else old.ee_pose,
            joints=state.joints if state.joints is not None else old.joints,
            robot_mode=state.robot_mode if state.robot_mode is not None else old.robot_mode,
        )
        if self.action_space == "ee":
            fresh = state.ee_pose is not None and state.ee_pose.finite()
        else:
            fresh = state.joints is not None and bool(np.all(np.isfinite(state.joints)))
        if fresh:
            self.state_watchdog.feed()

    def on_estop(self, asserted: bool, source: str = ESTOP_TOPIC_SOURCE) -> None:
        self.estop.set(source, bool(asserted))

    def reset_estop(self, confirm: bool = False) -> Decision:
        was = self.estop.latched
        decision = self.estop.reset(confirm=confirm)
        if decision.ok and was:
            self._rearm()
        return decision

    def request_error_recovery(self, confirm: bool = False) -> Decision:
        """The gate only; on ``ok`` the node sends franka's error-recovery goal."""
        decision = error_recovery_allowed(confirm, self._state.robot_mode, self.estop)
        if decision.ok:
            self._rearm()
        return decision

    def _rearm(self) -> None:
        """After a reset or recovery nothing older may run: a fresh action is needed, from the measured pose."""
        self._target = None
        self.action_watchdog.clear()
        self._last_cmd = None
        self.gripper.reset()

    # ---- the tick ----

    def step(self) -> BridgeOutput:
        now = self._clock()
        dt = 0.0 if self._last_tick is None else now - self._last_tick
        self._last_tick = now
        if self.estop.latched:
            return self._hold(["estop:" + ",".join(self.estop.causes)])
        if self.state_watchdog.stale():
            return self._hold(["stale_state"])
        mode = self._state.robot_mode
        if mode is not None and mode not in COMMANDABLE:
            return self._hold([f"robot_mode_{RobotMode.name_of(mode)}"])
        if self._target is None or self.action_watchdog.stale():
            return self._hold(["stale_action"])
        return self._step_ee(dt) if self.action_space == "ee" else self._step_joint(dt)

    def _step_ee(self, dt: float) -> BridgeOutput:
        def lead_too_far(last: EEPose, measured: EEPose) -> bool:
            return (float(np.linalg.norm(last.position - measured.position)) > self.limits.max_tracking_error_m
                    or quat_angle(last.quat, measured.quat) > self.limits.max_tracking_error_rad)

        return self._step_from(self._measured_pose(), "no_measured_pose", lead_too_far, self.filter.clamp_ee, dt)

    def _step_joint(self, dt: float) -> BridgeOutput:
        def lead_too_far(last: np.ndarray, measured: np.ndarray) -> bool:
            return float(np.max(np.abs(last - measured))) > self.limits.max_joint_tracking_error

        return self._step_from(self._measured_joints(), "no_measured_joints", lead_too_far,
                               self.filter.clamp_joints, dt)

    def _step_from(self, measured, missing: str, lead_too_far, clamp, dt: float) -> BridgeOutput:
        """One action space's tick: step from the last command sent, unless it leads the measured state
        too far (or nothing was sent live), then clamp. ``measured`` and the command are an ``EEPose`` (ee)
        or (7,) joints (joint); ``_last_cmd`` only ever holds the current space's kind."""
        if measured is None:
            return self._hold([missing])
        reasons: list[str] = []
        ref = measured
        last = self._last_cmd
        if last is not None and not self.dry_run:
            if lead_too_far(last, measured):
                reasons.append("tracking_error_reanchor")
            else:
                ref = last
        cmd = clamp(self._target, ref, dt)
        reasons += cmd.reasons
        if cmd.hold:
            return self._hold(reasons, reference=ref)
        gripper = self.gripper.update(cmd.gripper)
        value = cmd.pose if self.action_space == "ee" else cmd.q
        if not self.dry_run:
            self._last_cmd = value
        return BridgeOutput(not self.dry_run, True, False, self.dry_run, self.action_space,
                            pose=value if self.action_space == "ee" else None,
                            joints=value if self.action_space == "joint" else None,
                            reference=ref, gripper=gripper, reasons=tuple(reasons))

    def _measured_pose(self) -> EEPose | None:
        pose = self._state.ee_pose
        if pose is None or not pose.finite():
            return None
        quat = normalize_quat(pose.quat)
        return None if quat is None else EEPose(np.asarray(pose.position, dtype=np.float64), quat)

    def _measured_joints(self) -> np.ndarray | None:
        q = self._state.joints
        if q is None:
            return None
        q = np.asarray(q, dtype=np.float64).reshape(-1)
        return q if q.shape == (N_JOINTS,) and np.all(np.isfinite(q)) else None

    def _hold(self, reasons: list[str], reference=None) -> BridgeOutput:
        held = self._last_cmd
        if held is None:
            held = self._measured_pose() if self.action_space == "ee" else self._measured_joints()
        self._last_cmd = None  # the next command steps from the measured state again
        pose = held if self.action_space == "ee" else None
        joints = held if self.action_space == "joint" else None
        return BridgeOutput(False, False, True, self.dry_run, self.action_space, pose=pose, joints=joints,
                            reference=reference, reasons=tuple(reasons))
