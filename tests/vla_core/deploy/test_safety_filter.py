"""The safety filter: for ANY input the command is in the box, within the step, unit, finite — or a hold."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vla_core.deploy.limits import SafetyLimits
from vla_core.deploy.pose import EEPose, EETarget, JointTarget, normalize_quat, quat_angle
from vla_core.deploy.safety import SafetyFilter

LIM = SafetyLimits()
F = SafetyFilter(LIM)
DOWN = np.array([0.0, 1.0, 0.0, 0.0])  # gripper pointing down (180° about x)
HOME = EEPose(np.array([0.5, 0.0, 0.4]), DOWN)
Q_HOME = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
TOL = 1e-9

anything = st.floats(allow_nan=True, allow_infinity=True)
vec3 = st.lists(anything, min_size=3, max_size=3)
vec4 = st.lists(anything, min_size=4, max_size=4)
vec7 = st.lists(anything, min_size=7, max_size=7)
dts = st.one_of(st.floats(0, 1), anything)


def in_box(p):
    return bool(np.all(p >= np.array(LIM.workspace_min)) and np.all(p <= np.array(LIM.workspace_max)))


def test_small_move_passes_unchanged():
    cmd = F.clamp_ee(EETarget(HOME.position + [0.005, 0, 0], DOWN, 0.0), HOME, dt=0.1)
    assert not cmd.hold and cmd.reasons == () and cmd.gripper == 0.0
    assert np.allclose(cmd.pose.position, [0.505, 0, 0.4]) and np.allclose(cmd.pose.quat, DOWN)


@pytest.mark.parametrize("distance", [1.5 * LIM.max_step_m, 0.2, 1e6])
def test_far_target_is_limited_to_one_step_along_the_way(distance):
    cmd = F.clamp_ee(EETarget(HOME.position + [0, distance, 0], DOWN, 1.0), HOME, dt=1.0)
    assert "translation_step" in cmd.reasons
    assert np.allclose(cmd.pose.position, [0.5, LIM.max_step_m, 0.4])


def test_speed_limit_shrinks_the_step_for_short_dt():
    cmd = F.clamp_ee(EETarget(np.array([0.7, 0.0, 0.4]), DOWN, 1.0), HOME, dt=0.01)
    assert np.linalg.norm(cmd.pose.position - HOME.position) == pytest.approx(LIM.max_linear_speed * 0.01)
    still = F.clamp_ee(EETarget(np.array([0.7, 0.0, 0.4]), DOWN, 1.0), HOME, dt=0.0)
    assert np.allclose(still.pose.position, HOME.position) and not still.hold


@pytest.mark.parametrize("dt", [float("nan"), -0.1, float("-inf")])
def test_bad_dt_allows_no_motion(dt):
    cmd = F.clamp_ee(EETarget(np.array([0.7, 0.1, 0.3]), np.array([1.0, 0, 0, 0]), 0.0), HOME, dt=dt)
    assert "bad_dt" in cmd.reasons and np.allclose(cmd.pose.position, HOME.position)
    assert quat_angle(cmd.pose.quat, DOWN) == pytest.approx(0.0, abs=1e-9)


def test_target_outside_the_box_is_clipped_first():
    ref = EEPose(np.array([0.79, 0.0, 0.4]), DOWN)
    cmd = F.clamp_ee(EETarget(np.array([5.0, 0.0, 0.4]), DOWN, 0.0), ref, dt=1.0)
    assert "workspace_clip" in cmd.reasons and cmd.pose.position[0] == LIM.workspace_max[0]
    huge = F.clamp_ee(EETarget(np.array([1e308, -1e308, 1e308]), DOWN * 1e300, 0.0), HOME, dt=1.0)
    assert not huge.hold and in_box(huge.pose.position) and np.all(np.isfinite(huge.pose.quat))


def test_rotation_is_limited():
    up = np.array([1.0, 0.0, 0.0, 0.0])  # 180° away from DOWN
    cmd = F.clamp_ee(EETarget(HOME.position, up, 0.0), HOME, dt=1.0)
    assert "rotation_step" in cmd.reasons
    assert quat_angle(cmd.pose.quat, DOWN) == pytest.approx(LIM.max_step_rad)
    unnormalised = F.clamp_ee(EETarget(HOME.position, DOWN * 7.0, 0.0), HOME, dt=1.0)
    assert unnormalised.reasons == () and np.allclose(unnormalised.pose.quat, DOWN)


@pytest.mark.parametrize("position, quat, reason", [
    ([float("nan"), 0.0, 0.4], DOWN, "target_position_not_finite"),
    ([0.5, float("inf"), 0.4], DOWN, "target_position_not_finite"),
    ([0.5, 0.0, 0.4], [float("nan"), 1, 0, 0], "target_quat_invalid"),
    ([0.5, 0.0, 0.4], [0, 0, 0, 0], "target_quat_invalid"),
])
def test_non_finite_target_holds_the_last_safe_pose(position, quat, reason):
    cmd = F.clamp_ee(EETarget(np.array(position), np.array(quat, float), 1.0), HOME, dt=0.1)
    assert cmd.hold and reason in cmd.reasons and cmd.gripper is None
    assert np.array_equal(cmd.pose.position, HOME.position) and np.allclose(cmd.pose.quat, DOWN)


def test_bad_reference_holds():
    outside = F.clamp_ee(EETarget(HOME.position, DOWN, 0.0), EEPose(np.array([2.0, 0, 0.4]), DOWN), dt=0.1)
    assert outside.hold and outside.reasons == ("reference_outside_workspace",)
    broken = F.clamp_ee(EETarget(HOME.position, DOWN, 0.0), EEPose(np.array([np.nan, 0, 0.4]), DOWN), dt=0.1)
    assert broken.hold and broken.pose is None


def test_gripper_clipped_or_dropped():
    assert F.clamp_ee(EETarget(HOME.position, DOWN, 3.0), HOME, 0.1).gripper == 1.0
    nan = F.clamp_ee(EETarget(HOME.position, DOWN, float("nan")), HOME, 0.1)
    assert nan.gripper is None and "gripper_not_finite" in nan.reasons and not nan.hold


reference_in_box = st.tuples(*(st.floats(lo, hi) for lo, hi in zip(LIM.workspace_min, LIM.workspace_max)))


near = st.lists(st.floats(-0.06, 0.06), min_size=3, max_size=3)  # within a few steps of the reference


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(vec3, near), st.booleans(), vec4, anything, st.one_of(reference_in_box, vec3), vec4, dts)
def test_any_ee_input_gives_a_safe_command_or_a_hold(position, relative, quat, gripper, ref_pos, ref_quat, dt):
    ref = EEPose(np.array(ref_pos, dtype=float), np.array(ref_quat, dtype=float))
    if relative:  # a target just beyond one step: where an off-by-a-bit step limit would show
        position = np.array(ref_pos, dtype=float) + np.array(position, dtype=float)
    cmd = F.clamp_ee(EETarget(np.array(position), np.array(quat), gripper), ref, dt)
    if cmd.pose is not None:
        assert cmd.pose.finite()
    if cmd.hold:
        assert cmd.reasons  # a hold always says why
        return
    p, q = cmd.pose.position, cmd.pose.quat
    assert in_box(p)
    assert abs(np.linalg.norm(q) - 1.0) < 1e-9
    dt_ok = dt if math.isfinite(dt) and dt >= 0 else 0.0
    assert np.linalg.norm(p - ref.position) <= min(LIM.max_step_m, LIM.max_linear_speed * dt_ok) + TOL
    ref_q = normalize_quat(ref.quat)  # not None: the filter holds on an unusable reference
    assert quat_angle(ref_q, q) <= min(LIM.max_step_rad, LIM.max_angular_speed * dt_ok) + TOL
    assert cmd.gripper is None or 0.0 <= cmd.gripper <= 1.0


# ---- joints ----

def test_joint_targets_clamped_to_limits_and_step():
    far = Q_HOME + 1.0
    cmd = F.clamp_joints(JointTarget(far, 0.0), Q_HOME, dt=1.0)
    assert "joint_step" in cmd.reasons
    assert np.max(np.abs(cmd.q - Q_HOME)) == pytest.approx(LIM.max_joint_step)
    # uniform scaling keeps the direction of the requested motion
    assert np.allclose((cmd.q - Q_HOME) / np.linalg.norm(cmd.q - Q_HOME), np.ones(7) / math.sqrt(7))
    beyond = F.clamp_joints(JointTarget(np.full(7, 100.0), 0.0), np.array(LIM.joint_max), dt=1.0)
    assert "joint_limit_clip" in beyond.reasons and np.allclose(beyond.q, LIM.joint_max)


def test_joint_holds_on_bad_input():
    nan = F.clamp_joints(JointTarget(np.array([np.nan] * 7), 0.0), Q_HOME, dt=0.1)
    assert nan.hold and np.array_equal(nan.q, Q_HOME) and "target_not_finite" in nan.reasons
    outside = F.clamp_joints(JointTarget(Q_HOME, 0.0), np.full(7, 5.0), dt=0.1)
    assert outside.hold and outside.reasons == ("reference_outside_joint_limits",)
    assert F.clamp_joints(JointTarget(Q_HOME, 0.0), np.zeros(6), dt=0.1).q is None


joints_in_limits = st.tuples(*(st.floats(lo, hi) for lo, hi in zip(LIM.joint_min, LIM.joint_max)))


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(vec7, st.lists(st.floats(-0.2, 0.2), min_size=7, max_size=7)), st.booleans(), anything,
       st.one_of(joints_in_limits, vec7), dts)
def test_any_joint_input_stays_in_limits_and_step(q, relative, gripper, ref, dt):
    ref = np.array(ref, dtype=float)
    q = ref + np.array(q, dtype=float) if relative else np.array(q, dtype=float)
    cmd = F.clamp_joints(JointTarget(q, gripper), ref, dt)
    if cmd.q is not None:
        assert np.all(np.isfinite(cmd.q))
    if cmd.hold:
        assert cmd.reasons
        return
    assert np.all(cmd.q >= np.array(LIM.joint_min)) and np.all(cmd.q <= np.array(LIM.joint_max))
    dt_ok = dt if math.isfinite(dt) and dt >= 0 else 0.0
    assert np.max(np.abs(cmd.q - ref)) <= min(LIM.max_joint_step, LIM.max_joint_speed * dt_ok) + TOL
