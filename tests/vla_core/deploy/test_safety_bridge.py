"""SafetyBridge: dry run by default, e-stop over everything, watchdog holds, gripper goals, re-anchoring."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vla_core.deploy.bridge import SafetyBridge
from vla_core.deploy.limits import SafetyLimits
from vla_core.deploy.pose import EEPose, EETarget, JointTarget, normalize_quat, quat_angle
from vla_core.deploy.state import RobotMode, RobotState

LIM = SafetyLimits()
DOWN = np.array([0.0, 1.0, 0.0, 0.0])
HOME = EEPose(np.array([0.5, 0.0, 0.4]), DOWN)
Q_HOME = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
DT = 1 / 30


class FakeClock:
    def __init__(self, t=10.0):
        self.t = t

    def __call__(self):
        return self.t


def make(dry_run=False, action_space="ee"):
    clock = FakeClock()
    return SafetyBridge(LIM, action_space=action_space, dry_run=dry_run, clock=clock), clock


def ready(bridge, clock, target=(0.7, 0.0, 0.4), gripper=0.0, mode=RobotMode.MOVE, pose=HOME):
    bridge.on_state(RobotState(ee_pose=pose, robot_mode=mode))
    bridge.on_action(EETarget(np.array(target, float), DOWN, gripper))


def tick(bridge, clock, dt=DT):
    clock.t += dt
    return bridge.step()


def test_dry_run_is_the_default_and_sends_nothing():
    clock = FakeClock()
    bridge = SafetyBridge(LIM, clock=clock)
    assert bridge.dry_run
    ready(bridge, clock)
    bridge.step()
    out = tick(bridge, clock)
    assert not out.send and out.would_send and out.dry_run and not out.hold
    assert np.linalg.norm(out.pose.position - HOME.position) == pytest.approx(LIM.max_linear_speed * DT)
    with pytest.raises(ValueError, match="dry_run must be a bool"):
        SafetyBridge(LIM, dry_run="false")
    with pytest.raises(ValueError, match="action_space must be one of"):
        SafetyBridge(LIM, action_space="cartesian")


def test_live_walks_toward_the_target_one_step_per_tick():
    bridge, clock = make()
    ready(bridge, clock)
    bridge.step()
    xs = []
    for _ in range(5):
        ready(bridge, clock, pose=HOME)  # the arm lags a little behind: within the tracking error
        out = tick(bridge, clock)
        assert out.send and not out.hold
        xs.append(out.pose.position[0])
    assert np.allclose(np.diff(xs), LIM.max_linear_speed * DT)  # steps from the last command, not measured


def test_hold_order_estop_then_state_then_mode_then_action():
    bridge, clock = make()
    assert tick(bridge, clock).reasons == ("stale_state",)
    bridge.on_state(RobotState(ee_pose=HOME, robot_mode=RobotMode.REFLEX))
    assert tick(bridge, clock).reasons == ("robot_mode_reflex",)
    bridge.on_state(RobotState(ee_pose=HOME, robot_mode=RobotMode.MOVE))
    assert tick(bridge, clock).reasons == ("stale_action",)
    bridge.on_estop(True)
    ready(bridge, clock)
    out = tick(bridge, clock)
    assert out.hold and not out.send and out.reasons == ("estop:/vla/estop",)


def test_stale_action_and_stale_state_hold():
    bridge, clock = make()
    ready(bridge, clock)
    assert tick(bridge, clock).send
    clock.t += LIM.stale_state_s + 0.01  # nothing new from the robot
    assert tick(bridge, clock, 0).reasons == ("stale_state",)
    bridge.on_state(RobotState(ee_pose=HOME))
    clock.t += LIM.stale_action_s - LIM.stale_state_s  # the state is fresh, the action is not
    bridge.on_state(RobotState(ee_pose=HOME))
    assert tick(bridge, clock, 0).reasons == ("stale_action",)


def test_a_nan_state_does_not_count_as_fresh():
    bridge, clock = make()
    bridge.on_state(RobotState(ee_pose=EEPose(np.array([np.nan, 0, 0]), DOWN)))
    assert tick(bridge, clock).reasons == ("stale_state",)


def test_estop_latches_and_a_reset_needs_a_fresh_action():
    bridge, clock = make()
    ready(bridge, clock)
    assert tick(bridge, clock).send
    bridge.on_estop(True)
    bridge.on_estop(False)  # the button is released: still latched, never auto-resumes
    for _ in range(3):
        ready(bridge, clock)
        assert tick(bridge, clock).hold
    assert not bridge.reset_estop().ok  # no confirmation
    assert bridge.reset_estop(confirm=True).ok
    bridge.on_state(RobotState(ee_pose=HOME))
    assert tick(bridge, clock).reasons == ("stale_action",)  # the pre-e-stop action is gone
    ready(bridge, clock)
    assert tick(bridge, clock).send


def test_reset_refused_while_the_estop_is_still_pressed():
    bridge, clock = make()
    bridge.on_estop(True)
    d = bridge.reset_estop(confirm=True)
    assert not d.ok and "still asserted" in d.message and bridge.estop.latched


def test_tracking_error_reanchors_on_the_measured_pose():
    bridge, clock = make()
    ready(bridge, clock)
    bridge.step()
    for _ in range(3):
        tick(bridge, clock)
    stuck = EEPose(HOME.position - [LIM.max_tracking_error_m + 0.01, 0, 0], DOWN)  # arm pushed back
    ready(bridge, clock, pose=stuck)
    out = tick(bridge, clock)
    assert "tracking_error_reanchor" in out.reasons and out.send
    assert np.array_equal(out.reference.position, stuck.position)
    assert np.linalg.norm(out.pose.position - stuck.position) <= LIM.max_step_m + 1e-12


def test_gripper_goals_only_on_change_and_only_live():
    bridge, clock = make()
    ready(bridge, clock, gripper=1.0)
    out = tick(bridge, clock)
    assert out.gripper_action == "grasp" and out.send
    ready(bridge, clock, gripper=1.0)
    assert tick(bridge, clock).gripper_action is None
    ready(bridge, clock, gripper=0.0)
    assert tick(bridge, clock).gripper_action == "move"
    dry, dclock = make(dry_run=True)
    ready(dry, dclock, gripper=1.0)
    out = tick(dry, dclock)
    assert out.gripper_action == "grasp" and not out.send and out.would_send


def test_nan_action_holds_and_drops_the_gripper():
    bridge, clock = make()
    bridge.on_state(RobotState(ee_pose=HOME, robot_mode=RobotMode.MOVE))
    bridge.on_action(EETarget.from_array([np.nan, 0, 0.4, 0, 1, 0, 0, 1.0]))
    out = tick(bridge, clock)
    assert out.hold and not out.send and out.gripper is None and "target_position_not_finite" in out.reasons
    assert out.to_dict()["hold"] is True


def test_wrong_action_kind_is_refused():
    bridge, _ = make()
    with pytest.raises(ValueError, match="takes EETarget, got JointTarget"):
        bridge.on_action(JointTarget(Q_HOME, 0.0))


def test_joint_mode():
    bridge, clock = make(action_space="joint")
    bridge.on_state(RobotState(joints=Q_HOME))
    bridge.on_action(JointTarget(Q_HOME + 0.5, 0.0))
    bridge.step()
    out = tick(bridge, clock)
    assert out.send and out.pose is None
    assert np.max(np.abs(out.joints - Q_HOME)) == pytest.approx(LIM.max_joint_speed * DT)
    assert out.to_dict()["joints"] == out.joints.tolist()


def test_error_recovery_only_in_reflex_and_on_request():
    bridge, clock = make()
    ready(bridge, clock, mode=RobotMode.MOVE)
    assert not bridge.request_error_recovery(confirm=True).ok
    bridge.on_state(RobotState(robot_mode=RobotMode.REFLEX))
    assert not bridge.request_error_recovery().ok
    assert bridge.request_error_recovery(confirm=True).ok
    bridge.on_state(RobotState(ee_pose=HOME, robot_mode=RobotMode.MOVE))
    assert tick(bridge, clock).reasons == ("stale_action",)  # recovery re-arms: no old action runs


# ---- properties over whole event sequences ----
# Each cycle: maybe a robot state (random, or the arm exactly where it was last told to go), maybe an
# action (mostly plausible, sometimes garbage: NaN, inf, 1e300), then a tick. Rarely an e-stop or a reset.
# Most cycles send, so the properties below are about real commands, not an ever-holding bridge.

anything = st.floats(allow_nan=True, allow_infinity=True)
plausible_ee = st.tuples(st.floats(-0.5, 1.5), st.floats(-1, 1), st.floats(-0.5, 1.5),
                         st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 2))
nudge = st.tuples(st.just("nudge"), st.floats(-0.05, 0.05), st.floats(-0.05, 0.05), st.floats(-0.05, 0.05))
ee_action = st.one_of(plausible_ee, plausible_ee, nudge, nudge, st.lists(anything, min_size=8, max_size=8))
modes = st.sampled_from([RobotMode.MOVE] * 10 + [RobotMode.IDLE, RobotMode.REFLEX, RobotMode.GUIDING])
ee_state = st.one_of(st.just("follow"), st.just("follow"),
                     st.tuples(st.floats(0.2, 0.85), st.floats(-0.5, 0.5), st.floats(0.0, 0.8), modes))
ee_cycle = st.tuples(st.none() | ee_state, st.none() | ee_action, st.floats(0, 0.1) | st.just(-0.01),
                     st.sampled_from([None] * 20 + ["press", "release", "reset", "reset_unconfirmed"]))


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(ee_cycle, max_size=40))
def test_no_sent_command_ever_leaves_the_limits(cycles):
    bridge, clock = make()
    bridge.on_state(RobotState(ee_pose=HOME, robot_mode=RobotMode.MOVE))
    last = HOME
    for state, action, dt, op in cycles:
        if state == "follow":
            bridge.on_state(RobotState(ee_pose=last))
        elif state is not None:
            x, y, z, mode = state
            bridge.on_state(RobotState(ee_pose=EEPose(np.array([x, y, z]), DOWN), robot_mode=int(mode)))
        if action is not None and action[0] == "nudge":  # a target a step or two from the last command
            bridge.on_action(EETarget(last.position + np.array(action[1:]), last.quat, 0.5))
        elif action is not None:
            bridge.on_action(EETarget.from_array(action))
        if op == "press" or op == "release":
            bridge.on_estop(op == "press")
        elif op is not None:
            bridge.reset_estop(confirm=op == "reset")
        latched = bridge.estop.latched
        out = tick(bridge, clock, dt)
        assert not (out.send and out.hold) and out.send == out.would_send  # live: send is would_send
        if latched:
            assert not out.send and out.hold  # latched: nothing goes out until an accepted reset
        if not out.send:
            continue
        p, q = out.pose.position, out.pose.quat
        assert out.pose.finite() and abs(np.linalg.norm(q) - 1) < 1e-9
        assert np.all(p >= np.array(LIM.workspace_min)) and np.all(p <= np.array(LIM.workspace_max))
        allowed = min(LIM.max_step_m, LIM.max_linear_speed * max(dt, 0.0))
        assert np.linalg.norm(p - out.reference.position) <= allowed + 1e-9
        ang = min(LIM.max_step_rad, LIM.max_angular_speed * max(dt, 0.0))
        assert quat_angle(normalize_quat(out.reference.quat), q) <= ang + 1e-9
        last = out.pose


plausible_q = st.lists(st.floats(-5, 5), min_size=8, max_size=8)
joint_cycle = st.tuples(
    st.none() | st.just("follow") | st.lists(st.floats(-3.2, 4.6), min_size=7, max_size=7),
    st.none() | plausible_q | st.tuples(st.just("nudge"), st.floats(-0.2, 0.2))
    | st.lists(anything, min_size=8, max_size=8),
    st.floats(0, 0.1))


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(joint_cycle, max_size=40))
def test_no_sent_joint_command_ever_leaves_the_limits(cycles):
    bridge, clock = make(action_space="joint")
    bridge.on_state(RobotState(joints=Q_HOME))
    last = Q_HOME
    for state, action, dt in cycles:
        if state is not None:
            bridge.on_state(RobotState(joints=last if state == "follow" else np.array(state)))
        if isinstance(action, tuple):  # every joint a little beyond one step from the last command
            bridge.on_action(JointTarget(last + action[1], 0.5))
        elif action is not None:
            bridge.on_action(JointTarget.from_array(action))
        out = tick(bridge, clock, dt)
        if not out.send:
            continue
        assert np.all(np.isfinite(out.joints))
        assert np.all(out.joints >= np.array(LIM.joint_min)) and np.all(out.joints <= np.array(LIM.joint_max))
        step = min(LIM.max_joint_step, LIM.max_joint_speed * dt)
        assert np.max(np.abs(out.joints - out.reference)) <= step + 1e-9
        last = out.joints
