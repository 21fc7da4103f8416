"""SafetyLimits: sane defaults, and every bad value rejected with a message naming its field."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vla_core.deploy.limits import JOINT_LIMITS, JOINT_MARGIN, SafetyLimits, default_joint_limits


def test_defaults_are_valid_and_inside_the_fr3_datasheet():
    lim = SafetyLimits()
    lo, hi = JOINT_LIMITS["fr3"]
    assert all(a > b for a, b in zip(lim.joint_min, lo)) and all(a < b for a, b in zip(lim.joint_max, hi))
    assert all(a < b for a, b in zip(lim.workspace_min, lim.workspace_max))
    assert lim.max_step_m <= 0.05 and lim.max_step_rad <= 0.2  # small per-command steps by default


def test_from_dict_overrides_and_robot_defaults():
    lim = SafetyLimits.from_dict({"max_step_m": 0.01, "workspace_max": [0.7, 0.3, 0.6]})
    assert lim.max_step_m == 0.01 and lim.workspace_max == (0.7, 0.3, 0.6)
    assert lim.max_linear_speed == SafetyLimits().max_linear_speed
    panda = SafetyLimits.from_dict({}, robot_type="panda")
    assert panda.joint_min == default_joint_limits("panda")[0] != SafetyLimits().joint_min
    assert panda.joint_min[0] == pytest.approx(JOINT_LIMITS["panda"][0][0] + JOINT_MARGIN)
    assert isinstance(SafetyLimits.from_dict({"max_step_m": 1}).max_step_m, float)  # ints are fine


@pytest.mark.parametrize("data, message", [
    ({"max_stepm": 0.01}, r"safety: unknown key\(s\) \['max_stepm'\]"),
    ({"max_step_m": "0.01"}, r"safety\.max_step_m must be a number, got str"),
    ({"max_step_m": True}, r"safety\.max_step_m must be a number, got bool"),
    ({"max_step_m": None}, r"safety\.max_step_m must be a number"),
    ({"max_step_m": float("nan")}, r"safety\.max_step_m must be finite"),
    ({"max_linear_speed": float("inf")}, r"safety\.max_linear_speed must be finite"),
    ({"stale_state_s": 0.0}, r"safety\.stale_state_s must be > 0"),
    ({"max_angular_speed": -1.0}, r"safety\.max_angular_speed must be > 0"),
    ({"workspace_min": [0.9, -0.4, 0.1]}, r"safety\.workspace_min\[0\] = 0\.9 must be < workspace_max\[0\] = 0\.8"),
    ({"workspace_min": [0.3, 0.45, 0.1]}, r"workspace_min\[1\] = 0\.45 must be < workspace_max\[1\]"),
    ({"workspace_max": [0.8, 0.4]}, r"safety\.workspace_max must have 3 values, got 2"),
    ({"workspace_max": "0.8 0.4 0.5"}, r"safety\.workspace_max must be a list of 3 numbers"),
    ({"workspace_max": [0.8, float("nan"), 0.5]}, r"safety\.workspace_max\[1\] must be finite"),
    ({"joint_min": [0.0] * 6}, r"safety\.joint_min must have 7 values, got 6"),
    ({"joint_min": [3.0] * 7}, r"safety\.joint_min\[0\] = 3\.0 must be < joint_max\[0\]"),
])
def test_bad_config_rejected_with_the_field_named(data, message):
    with pytest.raises(ValueError, match=message):
        SafetyLimits.from_dict(data)


def test_bad_section_and_robot_type():
    with pytest.raises(ValueError, match="safety must be a mapping"):
        SafetyLimits.from_dict([0.1])
    with pytest.raises(ValueError, match="robot_type must be one of"):
        SafetyLimits.from_dict({}, robot_type="ur5")


def test_direct_construction_validates_too():
    with pytest.raises(ValueError, match="max_step_rad must be > 0"):
        SafetyLimits(max_step_rad=0)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.floats(-2, 2), min_size=3, max_size=3), st.lists(st.floats(1e-3, 1), min_size=3, max_size=3),
       st.floats(1e-4, 10), st.floats(allow_nan=True, allow_infinity=True))
def test_any_ordered_box_loads_and_any_non_positive_or_non_finite_speed_fails(lo, size, speed, bad):
    hi = [a + s for a, s in zip(lo, size)]
    lim = SafetyLimits.from_dict({"workspace_min": lo, "workspace_max": hi, "max_linear_speed": speed})
    assert lim.workspace_min == tuple(lo) and lim.max_linear_speed == speed
    if not (math.isfinite(bad) and bad > 0):
        with pytest.raises(ValueError, match="max_linear_speed"):
            SafetyLimits.from_dict({"max_linear_speed": bad})
