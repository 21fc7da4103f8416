"""Quaternion helpers (w x y z) and the action → target layouts."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vla_core.deploy.pose import EETarget, JointTarget, normalize_quat, quat_angle, quat_mul, rotate_toward


def about_z(angle):
    return np.array([math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)])


def test_normalize_handles_huge_zero_and_non_finite():
    assert np.allclose(normalize_quat([1e300, 0, 0, 1e300]), [math.sqrt(0.5), 0, 0, math.sqrt(0.5)])
    assert np.allclose(normalize_quat([0, 0, 0, -3]), [0, 0, 0, -1])
    assert normalize_quat([0, 0, 0, 0]) is None
    assert normalize_quat([1, float("nan"), 0, 0]) is None and normalize_quat([float("inf"), 0, 0, 0]) is None
    assert normalize_quat([1, 0, 0]) is None  # wrong length


def test_angles_and_composition():
    assert quat_angle(about_z(0.0), about_z(math.pi / 2)) == pytest.approx(math.pi / 2)
    assert quat_angle(about_z(0.3), -about_z(0.3)) == pytest.approx(0.0, abs=1e-12)  # q and -q: same rotation
    assert quat_angle(about_z(-3.0), about_z(3.0)) == pytest.approx(2 * math.pi - 6.0)  # the short way round
    assert np.allclose(quat_mul(about_z(0.2), about_z(0.5)), about_z(0.7))


def test_rotate_toward_stops_at_the_limit_on_the_right_axis():
    out = rotate_toward(about_z(0.0), about_z(1.0), 0.25)
    assert np.allclose(out, about_z(0.25))
    assert np.allclose(rotate_toward(about_z(0.0), about_z(0.1), 0.25), about_z(0.1))  # within reach: exact
    assert np.allclose(rotate_toward(about_z(0.4), about_z(1.0), 0.0), about_z(0.4))  # no motion allowed


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.floats(-1, 1), min_size=4, max_size=4), st.lists(st.floats(-1, 1), min_size=4, max_size=4),
       st.floats(0, 4))
def test_rotate_toward_never_exceeds_the_limit(a, b, limit):
    qa, qb = normalize_quat(a), normalize_quat(b)
    if qa is None or qb is None:
        return
    out = rotate_toward(qa, qb, limit)
    assert abs(np.linalg.norm(out) - 1) < 1e-9 and np.dot(out, qa) >= 0
    assert quat_angle(qa, out) <= limit + 1e-9
    # it moves as far as allowed: the rest of the way is the original angle minus the limit
    assert quat_angle(out, qb) == pytest.approx(max(quat_angle(qa, qb) - limit, 0.0), abs=1e-6)


def test_action_layouts():
    t = EETarget.from_array([0.5, 0.0, 0.3, 1, 0, 0, 0, 0.7])
    assert t.position.tolist() == [0.5, 0.0, 0.3] and t.quat.tolist() == [1, 0, 0, 0] and t.gripper == 0.7
    assert math.isnan(EETarget.from_array([float("nan")] * 8).gripper)  # kept: the filter rejects it
    with pytest.raises(ValueError, match="an EE action has 8 values"):
        EETarget.from_array([0.0] * 10)
    j = JointTarget.from_array(list(range(8)))
    assert j.q.tolist() == list(range(7)) and j.gripper == 7.0
    with pytest.raises(ValueError, match="a joint action has 8 values"):
        JointTarget.from_array([0.0] * 7)
